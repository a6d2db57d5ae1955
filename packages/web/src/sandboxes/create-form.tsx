/**
 * The create form: every create option of the API (image, lifetime, limits, network, command, env, labels, ports,
 * volumes, tmpfs, S3), with parse errors and the API's validation messages shown by the field they concern.
 */
import { useState } from 'preact/hooks';
import { useApi } from '../api/context.js';
import { describeError, ErrorMessage } from '../ui/errors.js';
import { Field } from '../ui/field.js';
import { navigate, sandboxHref } from '../ui/route.js';
import {
  EMPTY_FORM,
  fieldOfError,
  toCreateOptions,
  type FieldErrors,
  type FieldName,
  type FormState,
} from './form-model.js';

export function CreateForm() {
  const { burrow, features } = useApi();
  const [form, setForm] = useState<FormState>(EMPTY_FORM);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [failure, setFailure] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  const text = (
    name: FieldName,
    label: string,
    hint?: string,
    type = 'text',
    extra: Record<string, unknown> = {},
  ) => (
    <Field id={`create-${name}`} label={label} {...(hint === undefined ? {} : { hint })} error={errors[name]}>
      {(aria) => (
        <input
          {...aria}
          type={type}
          value={form[name] as string}
          onInput={(event) => setForm({ ...form, [name]: event.currentTarget.value })}
          {...extra}
        />
      )}
    </Field>
  );
  const area = (name: FieldName, label: string, hint: string) => (
    <Field id={`create-${name}`} label={label} hint={hint} error={errors[name]}>
      {(aria) => (
        <textarea
          {...aria}
          rows={3}
          spellcheck={false}
          value={form[name] as string}
          onInput={(event) => setForm({ ...form, [name]: event.currentTarget.value })}
        />
      )}
    </Field>
  );

  const submit = async (event: Event) => {
    event.preventDefault();
    const { options, errors: parsed } = toCreateOptions(form);
    setErrors(parsed);
    setFailure(undefined);
    if (Object.keys(parsed).length > 0) {
      focusFirstInvalid();
      return;
    }
    setBusy(true);
    try {
      const sandbox = await burrow.create(options);
      navigate(sandboxHref(sandbox.id));
    } catch (error) {
      const { field, message } = describeError(error);
      const name = fieldOfError(field, message);
      if (name !== undefined) setErrors({ [name]: message });
      setFailure(error);
      setBusy(false);
      if (name !== undefined) focusFirstInvalid();
    }
  };

  return (
    <form class="create" onSubmit={(event) => void submit(event)} aria-labelledby="create-title" noValidate>
      <h1 id="create-title">New sandbox</h1>
      <ErrorMessage error={failure} context="creating the sandbox" />
      <fieldset>
        <legend>Image and lifetime</legend>
        {text('image', 'Image', "Empty: the server's default image")}
        {text(
          'timeoutSeconds',
          'Lifetime (seconds)',
          'Destroyed after this long; extend it later',
          'number',
          { min: 0 },
        )}
      </fieldset>
      <fieldset>
        <legend>Limits</legend>
        {text('cpus', 'CPUs', 'Cores, e.g. 0.5; empty: server default', 'number', { min: 0, step: 'any' })}
        {text('memoryMiB', 'Memory (MiB)', 'At least 6; empty: server default', 'number', { min: 0 })}
        {text('pidLimit', 'Process limit', 'Empty: server default (256)', 'number', { min: 0 })}
        {text('diskLimitMiB', 'Disk limit (MiB)', 'Only where the host can enforce it', 'number', { min: 0 })}
      </fieldset>
      <fieldset>
        <legend>Network and filesystem</legend>
        <Field
          id="create-networkMode"
          label="Network mode"
          hint="May only be as isolated as the server's default or more"
          error={errors.networkMode}
        >
          {(aria) => (
            <select
              {...aria}
              value={form.networkMode}
              onChange={(event) =>
                setForm({ ...form, networkMode: event.currentTarget.value as FormState['networkMode'] })
              }
            >
              <option value="">server default</option>
              <option value="none">none (no network)</option>
              <option value="internal">internal (no egress)</option>
              <option value="bridge">bridge (egress)</option>
            </select>
          )}
        </Field>
        {features.has('runtime') ? (
          <Field
            id="create-runtime"
            label="Isolation runtime"
            hint="gVisor: a second kernel between the sandbox and the host (slower system calls)"
            error={errors.runtime}
          >
            {(aria) => (
              <select
                {...aria}
                value={form.runtime}
                onChange={(event) =>
                  setForm({ ...form, runtime: event.currentTarget.value as FormState['runtime'] })
                }
              >
                <option value="">server default</option>
                <option value="runc">runc (shared kernel)</option>
                <option value="gvisor">gvisor</option>
              </select>
            )}
          </Field>
        ) : null}
        {features.has('egress')
          ? area(
              'egressAllow',
              'Egress allowlist',
              'Network mode bridge: one host (*.example.com) or CIDR per line; nothing else is reachable',
            )
          : null}
        {features.has('egress') ? area('egressDeny', 'Egress denylist', 'Refused even when allowed') : null}
        {features.has('secrets')
          ? area(
              'secrets',
              'Egress secrets',
              'HOST HEADER: VALUE per line: the egress proxy adds the header for that host; the value never enters the sandbox',
            )
          : null}
        {features.has('preview')
          ? text('publicPorts', 'Public ports', 'Ports whose preview URLs need no token, e.g. 3000, 8080')
          : null}
        <div class="field checkbox">
          <input
            id="create-writableRootfs"
            type="checkbox"
            checked={form.writableRootfs}
            onChange={(event) => setForm({ ...form, writableRootfs: event.currentTarget.checked })}
          />
          <label for="create-writableRootfs">Writable root filesystem</label>
        </div>
        {area(
          'ports',
          'Ports',
          'One per line: SANDBOX_PORT:HOST_PORT (published on 127.0.0.1 in bridge mode)',
        )}
        {area('volumes', 'Volumes', 'One per line: NAME:/mount/path[:ro]')}
        {area('tmpfs', 'Tmpfs mounts', 'One per line: /path:SIZE[:options], e.g. /scratch:64m')}
      </fieldset>
      <fieldset>
        <legend>Process</legend>
        {text('workdir', 'Working directory', 'Absolute path')}
        {area('cmd', 'Command', "One argument per line; replaces the image's command")}
        {area('env', 'Environment', 'One per line: NAME=value')}
        {area('labels', 'Labels', 'One per line: key=value')}
      </fieldset>
      <details>
        <summary>S3 storage</summary>
        <fieldset>
          <legend>S3</legend>
          {text('s3Bucket', 'Bucket', 'Empty: no S3 storage')}
          <Field id="create-s3Mode" label="Mode" error={errors.s3Mode}>
            {(aria) => (
              <select
                {...aria}
                value={form.s3Mode}
                onChange={(event) =>
                  setForm({ ...form, s3Mode: event.currentTarget.value as FormState['s3Mode'] })
                }
              >
                <option value="hooks">hooks (download at start, upload at destroy)</option>
                <option value="on_demand">on demand</option>
                <option value="fuse">fuse (mounted)</option>
              </select>
            )}
          </Field>
          {text('s3Prefix', 'Prefix')}
          {text('s3SyncPath', 'Sync path', 'hooks: the folder synchronised')}
          {text('s3MountPath', 'Mount path', 'fuse: where the bucket is mounted')}
          {text('s3Endpoint', 'Endpoint', "Empty: the server's")}
          {text('s3Region', 'Region')}
          {text('s3AccessKey', 'Access key', undefined, 'text', { autocomplete: 'off' })}
          {text('s3SecretKey', 'Secret key', undefined, 'password', { autocomplete: 'off' })}
        </fieldset>
      </details>
      <div class="actions">
        <button type="submit" disabled={busy}>
          {busy ? 'Creating…' : 'Create sandbox'}
        </button>
        <a class="button secondary" href="#/">
          Cancel
        </a>
      </div>
    </form>
  );
}

function focusFirstInvalid(): void {
  requestAnimationFrame(() => document.querySelector<HTMLElement>('.create [aria-invalid="true"]')?.focus());
}
