// Grafana core fills @grafana/data's standardEditorsRegistry at start-up with its option editors
// (PanelOptionsEditorBuilder.addMultiSelect & co look them up by id when a panel plugin's
// options are built, e.g. for its defaults). The stand-in has no panel editor UI, so it
// registers the same ids with plain @grafana/ui editors: enough for plugins to declare options
// and for their defaults to apply.
import React from 'react';
import { standardEditorsRegistry } from '@grafana/data';
import { Input, MultiSelect, RadioButtonGroup, Select, Switch } from '@grafana/ui';

const editors = {
  text: ({ value, onChange }) => <Input value={value ?? ''} onChange={(e) => onChange(e.currentTarget.value)} />,
  number: ({ value, onChange }) => <Input type="number" value={value ?? ''} onChange={(e) => onChange(Number(e.currentTarget.value))} />,
  boolean: ({ value, onChange }) => <Switch value={!!value} onChange={(e) => onChange(e.currentTarget.checked)} />,
  radio: ({ value, onChange, item }) => <RadioButtonGroup value={value} options={item.settings?.options ?? []} onChange={onChange} />,
  select: ({ value, onChange, item }) => <Select value={value} options={item.settings?.options ?? []} onChange={(v) => onChange(v.value)} />,
  'multi-select': ({ value, onChange, item }) => (
    <MultiSelect value={value ?? []} options={item.settings?.options ?? []} onChange={(vs) => onChange(vs.map((v) => v.value))} />
  ),
};

export function registerOptionEditors() {
  standardEditorsRegistry.setInit(() => Object.entries(editors).map(([id, editor]) => ({ id, name: id, editor })));
}
