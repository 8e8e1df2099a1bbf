//! Per-datasource state: everything one configured datasource keeps between requests (its TSDB
//! client, the pgss state: detected schema, TSDB quirks, PostgreSQL names), built from its
//! settings and rebuilt when they change. Instances are keyed by org and uid (two orgs may use
//! the same uid for different datasources), never shared through process-wide statics.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::pluginv2;

use crate::pgss::PgssState;
use crate::prom::client::PromClient;
use crate::settings::{Settings, SettingsError};
use crate::telemetry::Telemetry;

/// One datasource's state.
pub struct Instance {
    pub client: PromClient,
    pub pgss: PgssState,
}

impl Instance {
    pub fn new(settings: Settings, telemetry: Telemetry) -> Result<Instance, SettingsError> {
        let pgss = PgssState::new(settings.pgss_postgres.clone());
        let client = PromClient::new(settings, telemetry).map_err(|e| SettingsError::Client(e.to_string()))?;
        Ok(Instance { client, pgss })
    }
}

/// Which datasource a request is for: its org and its uid (its numeric id when the uid is empty).
type InstanceKey = (i64, String);

/// The instances by org and uid, with the settings' last-updated time each was built from.
#[derive(Default)]
pub struct Instances {
    by_key: Mutex<HashMap<InstanceKey, (i64, Arc<Instance>)>>,
}

impl Instances {
    /// The instance for the datasource a request's plugin context names, built from its
    /// settings the first time and again whenever they change.
    pub fn get(&self, context: Option<&pluginv2::PluginContext>, telemetry: &Telemetry) -> Result<Arc<Instance>, SettingsError> {
        let settings = context.and_then(|c| c.data_source_instance_settings.as_ref()).ok_or(SettingsError::Missing)?;
        let org = context.map_or(0, |c| c.org_id);
        let uid = if settings.uid.is_empty() { settings.id.to_string() } else { settings.uid.clone() };
        let key = (org, uid);
        let mut instances = self.by_key.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((updated, instance)) = instances.get(&key) {
            if *updated == settings.last_updated_ms {
                return Ok(instance.clone());
            }
        }
        let instance = Arc::new(Instance::new(Settings::from_instance(Some(settings))?, telemetry.clone())?);
        instances.insert(key, (settings.last_updated_ms, instance.clone()));
        Ok(instance)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(org: i64, uid: &str, url: &str, updated: i64) -> pluginv2::PluginContext {
        pluginv2::PluginContext {
            org_id: org,
            data_source_instance_settings: Some(pluginv2::DataSourceInstanceSettings {
                uid: uid.into(),
                url: url.into(),
                last_updated_ms: updated,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn two_orgs_with_the_same_uid_get_their_own_instance() {
        let (instances, telemetry) = (Instances::default(), Telemetry::new());
        let a = instances.get(Some(&context(1, "pgscope", "http://127.0.0.1:1", 1)), &telemetry).unwrap();
        let b = instances.get(Some(&context(2, "pgscope", "http://127.0.0.1:2", 1)), &telemetry).unwrap();
        assert_eq!(a.client.settings().url.as_str(), "http://127.0.0.1:1/");
        assert_eq!(b.client.settings().url.as_str(), "http://127.0.0.1:2/");
        let again = instances.get(Some(&context(1, "pgscope", "http://127.0.0.1:1", 1)), &telemetry).unwrap();
        assert!(Arc::ptr_eq(&a, &again), "same org, uid and settings: the same instance");
        let changed = instances.get(Some(&context(1, "pgscope", "http://127.0.0.1:3", 2)), &telemetry).unwrap();
        assert_eq!(changed.client.settings().url.as_str(), "http://127.0.0.1:3/", "new settings: a new instance");
        assert!(matches!(instances.get(None, &telemetry), Err(SettingsError::Missing)));
    }
}
