// The stand-in's start page: provisioned dashboards and datasources.
import { useEffect, useState } from 'react';
import { config } from '@grafana/runtime';

export function HomePage() {
  const [dashboards, setDashboards] = useState([]);
  useEffect(() => {
    fetch('/api/search').then((r) => r.json()).then(setDashboards, () => setDashboards([]));
  }, []);
  return (
    <main style={{ padding: 16 }}>
      <h2>Dashboards</h2>
      <ul>
        {dashboards.map((d) => (
          <li key={d.uid}>
            <a href={d.url}>{d.title}</a> <small>({d.folderTitle})</small>
          </li>
        ))}
      </ul>
      <h2>Apps</h2>
      <ul>
        {Object.values(config.apps || {}).map((app) => (
          <li key={app.id}>
            <a href={`/a/${app.id}`}>{app.id}</a>
          </li>
        ))}
      </ul>
      <h2>Datasources</h2>
      <ul>
        {Object.values(config.datasources).map((ds) => (
          <li key={ds.uid}>
            <a href={`/connections/datasources/edit/${ds.uid}`}>{ds.name}</a> <small>({ds.type})</small>
          </li>
        ))}
      </ul>
    </main>
  );
}
