// The release console, walked as a release manager and two approvers would,
// in Debian's Chromium (playwright-core, never a downloaded browser). Every
// page visited is checked with axe-core (serious or critical findings fail)
// and photographed into docs/console/ for docs/CONSOLE.md.
//
// Run by tests/browser/run.sh, which starts the server and passes:
// TOLLGATE_URL, TOLLGATE_ADMIN_PASSWORD, CHROMIUM, SCREENSHOTS.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const BASE = process.env.TOLLGATE_URL;
const ADMIN_PASSWORD = process.env.TOLLGATE_ADMIN_PASSWORD;
const SHOTS = process.env.SCREENSHOTS;
const RELEASE = '9b2e7ec9476c8e105b8e0dcfe16d43d4'; // Payments Q1 2027 (demo)

let profile;
let browser;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  profile = mkdtempSync(join(tmpdir(), 'tollgate-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
    viewport: { width: 1280, height: 860 },
    // axe-core is injected as a script; the console's policy allows none.
    bypassCSP: true,
  });
});

after(async () => {
  await browser?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

/** Calls the API with Basic credentials. */
async function api(method, path, body, user = 'admin', password = ADMIN_PASSWORD, form = false) {
  const headers = { authorization: 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64'), accept: 'application/json' };
  let payload;
  if (body !== undefined) {
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      payload = new URLSearchParams({ input_data: JSON.stringify(body) }).toString();
    } else {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
  }
  const res = await fetch(BASE + path, { method, headers, body: payload });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Fails on serious or critical axe-core findings on the current page. */
async function accessible(page, what) {
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => await window.axe.run(document));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
    [],
    `accessibility of ${what}`,
  );
}

async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function signIn(page, user, password) {
  await page.goto(BASE + '/console');
  assert.match(page.url(), /\/console\/sign-in/);
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText(`Signed in as ${user}`).waitFor();
}

async function signOut(page) {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to Tollgate' }).waitFor();
}

/** Reloads until `text` shows (a background job finishing). */
async function reloadUntil(page, text, tries = 60) {
  for (let i = 0; i < tries; i++) {
    if ((await page.getByText(text).count()) > 0) return;
    await new Promise((r) => setTimeout(r, 250));
    await page.reload();
  }
  assert.fail(`"${text}" never showed on ${page.url()}`);
}

test('a release manager signs in and sees Today', async () => {
  const page = await browser.newPage();
  await page.goto(BASE + '/');
  await page.getByRole('heading', { name: 'Sign in to Tollgate' }).waitFor();
  await accessible(page, 'the sign-in page');
  await shot(page, 'sign-in');
  // A wrong password is told in words, and nothing is signed in.
  await page.getByLabel('User name').fill('admin');
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('The user name or password is not right.').waitFor();
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Today' }).waitFor();
  await page.getByRole('heading', { name: 'Digital product releases in progress' }).waitFor();
  await page.getByRole('link', { name: 'Payments Q1 2027' }).waitFor();
  await accessible(page, 'Today');
  await shot(page, 'today');
  // Keyboard: the first Tab reaches the skip link.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to main content');
  // The calendar in a month whose daylight-saving time ends (2 November 2025,
  // America/New_York): the freeze from the 6th 18:00 to the 8th 06:00 local.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Calendars' }).click();
  await page.getByRole('link', { name: 'Enterprise release calendar' }).click();
  await page.goto(page.url() + '?month=2025-11');
  await page.getByRole('heading', { name: 'Enterprise release calendar: November 2025' }).waitFor();
  for (const [day, blackout] of [['05', false], ['06', true], ['07', true], ['08', true], ['09', false]]) {
    const cell = page.locator(`td[data-date="2025-11-${day}"]`);
    assert.equal((await cell.getByText('Blackout: Q4 2025 change blackout').count()) > 0, blackout, `2025-11-${day}`);
  }
  await accessible(page, 'a calendar month');
  await shot(page, 'calendar');
  // Administration: an API key for a pipeline, shown once.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API keys' }).click();
  await page.getByLabel('User name').fill('ada');
  await page.getByLabel('Key name').fill('deploy pipeline');
  await page.getByRole('button', { name: 'Create key' }).click();
  await page.getByText('is shown this once').waitFor();
  await page.getByRole('cell', { name: 'deploy pipeline', exact: true }).waitFor();
  await accessible(page, 'the API keys page');
  await shot(page, 'api-keys');
  await page.close();
});

test('a policy blocks "complete phase", then passes after a fix', async () => {
  // Set-up through the API: a policy on the release's current phase that
  // refuses a release still named DRAFT, and the release so named.
  const release = await api('GET', `/api/now/table/sn_dpr_model_release/${RELEASE}?sysparm_fields=name,current_phase&sysparm_exclude_reference_link=true`);
  const phase = await api('GET', `/api/now/table/sn_dpr_model_release_phase/${release.result.current_phase}?sysparm_fields=template_phase&sysparm_exclude_reference_link=true`);
  const rego = [
    'package tollgate.policy',
    '',
    'default compliant := false',
    '',
    'compliant if not contains(input.release.name, "DRAFT")',
    '',
    'reason := "The release name still says DRAFT: rename it once the scope is final" if contains(input.release.name, "DRAFT")',
    '',
  ].join('\n');
  const policy = await api('POST', '/api/now/table/sn_pace_policy', { name: 'No DRAFT in the name', rego, active: true });
  await api('POST', '/api/now/table/sn_dpr_model_template_phase_policy', { template_phase: phase.result.template_phase, policy: policy.result.sys_id });
  const name = release.result.name;
  await api('PATCH', `/api/now/table/sn_dpr_model_release/${RELEASE}`, { name: `${name} DRAFT` });

  const page = await browser.newPage();
  await page.goto(BASE + '/console/releases');
  await page.getByRole('heading', { name: 'Digital product releases' }).waitFor();
  await page.getByLabel('State').selectOption('in_progress');
  await page.getByRole('button', { name: 'Filter' }).click();
  await accessible(page, 'the release list');
  await shot(page, 'releases');
  await page.getByRole('link', { name: `${name} DRAFT` }).click();
  await page.getByRole('heading', { name: 'Phases' }).waitFor();

  await page.getByRole('button', { name: 'Run policies' }).click();
  await page.getByText('Policy run queued').waitFor();
  await reloadUntil(page, 'The release name still says DRAFT');
  await page.getByRole('button', { name: 'Complete phase' }).click();
  const refusal = page.getByRole('alert');
  await refusal.waitFor();
  assert.match(await refusal.textContent(), /cannot be completed: policies not compliant: No DRAFT in the name/);
  await accessible(page, 'a release whose phase is blocked');
  await shot(page, 'release-blocked');

  // The fix: the release gets its final name; the policies run again.
  await api('PATCH', `/api/now/table/sn_dpr_model_release/${RELEASE}`, { name });
  await page.goto(BASE + `/console/releases/${RELEASE}`);
  await page.getByRole('button', { name: 'Run policies' }).click();
  await page.getByText('Policy run queued').waitFor();
  for (let i = 0; i < 60 && (await page.getByText('The release name still says DRAFT').count()) > 0; i++) {
    await new Promise((r) => setTimeout(r, 250));
    await page.reload();
  }
  assert.equal(await page.getByText('Not compliant', { exact: true }).count(), 0);
  await page.getByRole('button', { name: 'Complete phase' }).click();
  await page.getByText('Phase completed.').waitFor();
  await accessible(page, 'a release after its phase completed');
  await shot(page, 'release-passed');
  await signOut(page);
  await page.close();
});

test('an approver approves a ServiceDesk release; a non-approver is refused', async () => {
  // Ada's release with a level she approves, made through the v3 API.
  const added = await api('POST', '/api/v3/releases', { release: { title: 'Quarterly database patching', description: 'Patch the database servers', template: { name: 'General Template' }, priority: { name: 'high' } } }, 'ada', 'ada-password', true);
  const id = added.release.id;
  const level = await api('POST', `/api/v3/releases/${id}/approval_levels`, {
    approval_level: { name: 'Change board', stage: { name: 'submission' }, rule: { type: 'percent', value: '100' }, approvers: [{ name: 'ada' }] },
  }, 'ada', 'ada-password', true);
  const levelId = level.approval_level.id;

  const page = await browser.newPage();
  // Otto is a technician but not an approver: no button, and a direct post is refused.
  await signIn(page, 'otto', 'otto-password');
  await page.goto(BASE + `/console/servicedesk/${id}`);
  await page.getByRole('heading', { name: 'Quarterly database patching' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Approve' }).count(), 0);
  const csrf = await page.locator('input[name="csrf_token"]').first().getAttribute('value');
  const res = await page.request.post(BASE + `/console/servicedesk/${id}/approval-levels/${levelId}/approve`, {
    form: { csrf_token: csrf, comment: 'me too' },
    maxRedirects: 0,
  });
  assert.equal(res.status(), 403);
  assert.match(await res.text(), /Only an approver of this level can approve or reject it/);
  await signOut(page);

  // Ada sees the approval waiting on Today and approves with a comment.
  await signIn(page, 'ada', 'ada-password');
  await page.getByRole('heading', { name: 'Approvals waiting for me' }).waitFor();
  await page.getByRole('link', { name: 'Quarterly database patching' }).click();
  await page.getByLabel('Comment').fill('Reviewed with the DBAs');
  await accessible(page, 'a ServiceDesk release awaiting a decision');
  await shot(page, 'servicedesk-release');
  await page.getByRole('button', { name: 'Approve' }).click();
  await page.getByText('You approved the level.').waitFor();
  await page.getByText('Reviewed with the DBAs').first().waitFor();

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'ServiceDesk releases' }).click();
  await page.getByLabel('Title contains').fill('patching');
  await page.getByRole('button', { name: 'Show' }).click();
  await page.getByRole('link', { name: 'Quarterly database patching' }).waitFor();
  await accessible(page, 'the ServiceDesk release list');
  await shot(page, 'servicedesk');
  await page.close();
});

test('signing out ends the session', async () => {
  const page = await browser.newPage();
  await page.goto(BASE + '/console');
  await page.getByText('Signed in as ada').waitFor();
  await signOut(page);
  await page.goto(BASE + '/console/servicedesk');
  assert.match(page.url(), /\/console\/sign-in\?next=/);
  await page.close();
});

test('resolve an update-set preview problem and commit', async () => {
  const page = await browser.newPage();
  await signIn(page, 'admin', ADMIN_PASSWORD);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Update sets' }).click();
  await page.getByRole('heading', { name: 'Update sets', level: 1 }).waitFor();
  await page.getByRole('heading', { name: 'Retrieved update sets' }).waitFor();
  await accessible(page, 'the update-set list');
  await shot(page, 'update-sets');

  // Preview the demo set whose freeze property moved here since it was made.
  await page.getByRole('link', { name: 'Release freeze length' }).click();
  await page.getByRole('heading', { name: 'Release freeze length' }).waitFor();
  await page.getByRole('button', { name: 'Preview' }).click();
  await page.locator('progress').waitFor();
  await reloadUntil(page, 'Successful');
  await page.getByRole('link', { name: 'Open the update set' }).click();

  // The collision, accepted: the remote update is committed with the set.
  await page.getByRole('cell', { name: 'Collision' }).first().waitFor();
  await accessible(page, 'a retrieved update set with a preview problem');
  await shot(page, 'update-set-problem');
  await page.getByRole('button', { name: /^Accept remote update/ }).click();
  await page.getByText('You accepted the remote update').waitFor();
  await page.getByRole('cell', { name: 'Accepted (remote update applied)' }).waitFor();

  // Commit: the job page follows it to its end.
  await page.getByRole('button', { name: 'Commit', exact: true }).click();
  await page.getByRole('heading', { name: 'Commit' }).waitFor();
  await reloadUntil(page, 'Successful');
  await page.getByText('100%').first().waitFor();
  await accessible(page, 'a finished commit');
  await shot(page, 'update-set-job');
  await page.getByRole('link', { name: 'Open the update set' }).click();
  await page.getByRole('heading', { name: 'Local update set' }).waitFor();
  const committed = await api('GET', '/api/now/table/sys_remote_update_set?sysparm_query=name=Release freeze length&sysparm_fields=state');
  assert.equal(committed.result[0].state, 'committed');
  await signOut(page);
  await page.close();
});

test('an administrator creates a user with a role, who then signs in', async () => {
  const page = await browser.newPage();
  await signIn(page, 'admin', ADMIN_PASSWORD);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users', exact: true }).click();
  await page.getByRole('heading', { name: 'Users', exact: true }).waitFor();
  const form = page.locator('form', { has: page.getByRole('button', { name: 'Create user' }) });
  await form.getByLabel('User name', { exact: true }).fill('nora');
  await form.getByLabel('Name', { exact: true }).fill('Nora Release');
  await form.getByLabel('E-mail').fill('nora@example.com');
  await form.getByLabel('Password').fill('Nora-console-pass-1');
  await form.getByLabel('Role (optional)').selectOption({ label: 'sn_dpr_model.release_user' });
  await form.getByRole('button', { name: 'Create user' }).click();
  await page.getByText('The user was created.').waitFor();
  await page.getByRole('heading', { name: 'User nora' }).waitFor();
  await page.getByRole('cell', { name: 'sn_dpr_model.release_user', exact: true }).waitFor();
  assert.ok(!(await page.content()).includes('Nora-console-pass-1'), 'the password is never shown');
  await accessible(page, 'a user page');
  await shot(page, 'user');
  await page.getByRole('link', { name: 'All users' }).click();
  await page.getByLabel('User name, name or e-mail contains').fill('nor');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('link', { name: 'nora', exact: true }).waitFor();
  await accessible(page, 'the users page');
  await shot(page, 'users');
  await signOut(page);

  // The new user signs in with the role given.
  await signIn(page, 'nora', 'Nora-console-pass-1');
  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('link', { name: 'Digital product releases' }).waitFor();
  assert.equal(await nav.getByRole('link', { name: 'Users', exact: true }).count(), 0);
  await signOut(page);
  await page.close();
});

test('sign in and create a release from a template', async () => {
  const page = await browser.newPage();
  await signIn(page, 'admin', ADMIN_PASSWORD);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Digital product releases' }).click();
  await page.getByText('New release').click();
  await page.getByLabel('Name', { exact: true }).fill('Identity 3.3');
  await page.locator('#new_product').selectOption({ label: 'Identity Service' });
  await page.getByLabel('Release template').selectOption({ label: 'Product release' });
  await page.getByLabel('Description').fill('Single sign-on for the partner portal');
  await accessible(page, 'the new release form');
  await shot(page, 'release-new');
  await page.getByRole('button', { name: 'Create release' }).click();
  await page.getByText('Release created from its template.').waitFor();
  await page.getByRole('heading', { name: 'Identity 3.3' }).waitFor();
  for (const phase of ['Define', 'Develop', 'Validate', 'Launch']) {
    await page.getByRole('heading', { name: phase }).first().waitFor();
  }
  await accessible(page, 'a new release');
  await shot(page, 'release-created');
  await signOut(page);
  await page.close();
});

test('edit a policy: an error shown at its line, then a dry run against a release', async () => {
  const page = await browser.newPage();
  await signIn(page, 'admin', ADMIN_PASSWORD);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Policies' }).click();
  await page.getByRole('heading', { name: 'Policies' }).waitFor();
  await accessible(page, 'the policy list');
  await page.getByRole('link', { name: 'No DRAFT in the name' }).click();
  const rego = [
    'package tollgate.policy',
    '',
    'default compliant := false',
    '',
    'compliant if not contians(input.release.name, "DRAFT")',
    '',
    'reason := "The release name still says DRAFT: rename it once the scope is final" if contains(input.release.name, "DRAFT")',
    '',
  ].join('\n');
  // A misspelt function: refused on save, at its line.
  await page.getByLabel('Policy (Rego)').fill(rego);
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Not saved').waitFor();
  await page.getByRole('link', { name: 'Line 5' }).waitFor();
  await accessible(page, 'a policy refused on save');
  await shot(page, 'policy-error');
  await page.getByLabel('Policy (Rego)').fill(rego.replace('contians', 'contains'));
  await page.getByLabel('Dry run against the release').selectOption({ label: 'Payments Q1 2027 (REL0001005)' });
  await page.getByRole('button', { name: 'Dry run', exact: true }).click();
  await page.getByText('Dry run against Payments Q1 2027').waitFor();
  await accessible(page, 'a dry run');
  await shot(page, 'policy-dry-run');
  await signOut(page);
  await page.close();
});

// --- Console gaps: ServiceDesk attachments, scope forms, a dry run on a
// snapshot, deactivating a user.

test('attach a file to a ServiceDesk release and download it; a viewer only downloads', async () => {
  const added = await api('POST', '/api/v3/releases', { release: { title: 'Firewall rule review', description: 'Review the edge firewall rules', template: { name: 'General Template' }, priority: { name: 'medium' } } }, 'ada', 'ada-password', true);
  const id = added.release.id;
  const page = await browser.newPage();
  await signIn(page, 'ada', 'ada-password');
  await page.goto(BASE + `/console/servicedesk/${id}`);
  await page.getByRole('heading', { name: 'Firewall rule review' }).waitFor();
  await page.getByText('No attachment.').waitFor();
  await page.getByLabel(/^File \(up to/).setInputFiles({ name: 'rule-review.txt', mimeType: 'text/plain', buffer: Buffer.from('allow 443 from the load balancers only\n') });
  await page.getByRole('button', { name: 'Attach file' }).click();
  await page.getByText('File attached.').waitFor();
  const link = page.getByRole('link', { name: 'rule-review.txt' });
  await link.waitFor();
  await page.getByRole('region', { name: 'Attachments' }).getByRole('cell', { name: 'ada', exact: true }).waitFor();
  const res = await page.request.get(BASE + (await link.getAttribute('href')));
  assert.equal(res.status(), 200);
  assert.equal(await res.text(), 'allow 443 from the load balancers only\n');
  await accessible(page, 'a ServiceDesk release with an attachment');
  await shot(page, 'servicedesk-attachments');
  await signOut(page);

  // Otto views the release: he downloads, but is offered no upload.
  await signIn(page, 'otto', 'otto-password');
  await page.goto(BASE + `/console/servicedesk/${id}`);
  await page.getByRole('link', { name: 'rule-review.txt' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Attach file' }).count(), 0);
  const again = await page.request.get(BASE + (await page.getByRole('link', { name: 'rule-review.txt' }).getAttribute('href')));
  assert.equal(again.status(), 200);
  await signOut(page);
  await page.close();
});

test('plan scope into a release: an enhancement, a key date, a related task; take the enhancement out', async () => {
  const page = await browser.newPage();
  await signIn(page, 'admin', ADMIN_PASSWORD);
  await page.goto(BASE + '/console/releases/eb7dd11d97b402107bc2341de053af34');
  await page.getByRole('heading', { name: 'Customer Portal Q4 2025' }).waitFor();

  await page.getByText('Plan an enhancement into this release').click();
  const enhancement = page.getByRole('form', { name: 'Plan an enhancement' });
  await enhancement.getByLabel('Name').fill('Saved payment methods');
  await enhancement.getByLabel('Priority').selectOption('high');
  await enhancement.getByRole('button', { name: 'Add enhancement' }).click();
  await page.getByText('Enhancement planned into this release.').waitFor();

  await page.getByText('Add a key date').click();
  const keyDate = page.getByRole('form', { name: 'Add a key date' });
  await keyDate.getByLabel('Name').fill('Go-live rehearsal');
  await keyDate.getByLabel('Type').selectOption('milestone');
  await keyDate.getByLabel('Due date').fill('2025-11-20');
  await keyDate.getByRole('button', { name: 'Add key date' }).click();
  await page.getByText('Key date added.').waitFor();
  // Outside the release's window: the API's refusal, in words.
  await page.getByText('Add a key date').click();
  await keyDate.getByLabel('Name').fill('Too late');
  await keyDate.getByLabel('Due date').fill('2026-03-01');
  await keyDate.getByRole('button', { name: 'Add key date' }).click();
  await page.getByText('Refused:').waitFor();

  await page.getByText('Relate a task').click();
  const relate = page.getByRole('form', { name: 'Relate a task' });
  const story = await relate.getByLabel('Task').locator('option', { hasText: 'invoices as PDF' }).textContent();
  await relate.getByLabel('Task').selectOption({ label: story });
  await relate.getByRole('button', { name: 'Relate task' }).click();
  await page.getByText('Task related to this release.').waitFor();
  await page.getByText('Saved payment methods').waitFor();
  await page.getByText('Go-live rehearsal').waitFor();
  // The key-date form open, as a person adding another would see it.
  await page.getByText('Add a key date').click();
  await keyDate.getByLabel('Name').waitFor();
  await accessible(page, 'a release with its scope forms');
  await shot(page, 'release-scope');

  await page.getByRole('button', { name: /Take out .* Saved payment methods/ }).click();
  await page.getByText('Enhancement taken out of this release.').waitFor();
  assert.equal(await page.getByText('Saved payment methods').count(), 0);
  await signOut(page);
  await page.close();
});

test('dry run a policy against a CDM snapshot', async () => {
  const page = await browser.newPage();
  await signIn(page, 'admin', ADMIN_PASSWORD);
  await page.goto(BASE + '/console/policies');
  await page.getByRole('link', { name: 'No DRAFT in the name' }).click();
  const rego = [
    'package tollgate.policy',
    '',
    'default compliant := false',
    '',
    'compliant if input.deployable.environment_type != "production"',
    '',
    'reason := sprintf("%s is a %s deployable", [input.deployable.name, input.deployable.environment_type])',
    '',
  ].join('\n');
  await page.getByLabel('Policy (Rego)').fill(rego);
  const snapshot = page.getByLabel('Dry run against the CDM snapshot');
  const first = await snapshot.locator('option').first().textContent();
  await snapshot.selectOption({ label: first });
  await page.getByRole('button', { name: 'Dry run against snapshot' }).click();
  await page.getByText(`Dry run against the snapshot ${first}`).waitFor();
  await page.getByText(/is a .* deployable/).first().waitFor();
  await accessible(page, 'a dry run against a snapshot');
  await shot(page, 'policy-dry-run-snapshot');
  await signOut(page);
  await page.close();
});

test('an administrator deactivates a user after confirming, then activates them again', async () => {
  await api('POST', '/api/now/table/sys_user', { user_name: 'ivan', name: 'Ivan Contractor', email: 'ivan@example.com', active: true });
  const page = await browser.newPage();
  await signIn(page, 'admin', ADMIN_PASSWORD);
  await page.goto(BASE + '/console/admin/users?q=admin');
  await page.getByRole('link', { name: 'admin', exact: true }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'Deactivate admin' }).count(), 0, 'never oneself');
  await page.goto(BASE + '/console/admin/users?q=ivan');
  await page.getByRole('link', { name: 'Deactivate ivan' }).click();
  await page.getByRole('heading', { name: 'Deactivate ivan?' }).waitFor();
  await accessible(page, 'the deactivation confirmation');
  await shot(page, 'user-deactivate');
  await page.getByRole('button', { name: 'Deactivate ivan' }).click();
  await page.getByText('The user was deactivated').waitFor();
  await page.getByRole('button', { name: 'Activate ivan' }).click();
  await page.getByText('The user was activated.').waitFor();
  await page.getByRole('link', { name: 'Deactivate ivan' }).waitFor();
  await signOut(page);
  await page.close();
});

test('configuration data: the tree, an open changeset committed, snapshots published and exported', async () => {
  const page = await browser.newPage();
  await signIn(page, 'admin', ADMIN_PASSWORD);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Configuration data' }).click();
  await page.getByRole('heading', { name: 'Configuration data' }).waitFor();
  await accessible(page, 'the configuration-data applications');
  await page.getByRole('link', { name: 'storefront' }).click();
  await page.getByRole('heading', { name: 'storefront' }).waitFor();
  await page.getByRole('heading', { name: 'Variables by deployable' }).waitFor();
  // The secure password stays masked; Production resolves the EU host.
  assert.equal(await page.getByText('demo-Storefront-pw').count(), 0);
  await page.getByText('Resolved configuration of Production').click();
  await page.getByText('https://api.eu.example.com/v1').first().waitFor();
  await accessible(page, 'an application tree');
  await shot(page, 'config-tree');

  await page.getByRole('link', { name: 'Chset-1302' }).click();
  await page.getByRole('heading', { name: 'Chset-1302' }).waitFor();
  await page.getByText('8081').waitFor();
  assert.equal(await page.getByText('demo-Storefront-pw').count(), 0);
  await accessible(page, 'an open changeset');
  await shot(page, 'config-changeset');
  await page.getByRole('button', { name: 'Commit' }).click();
  await reloadUntil(page, 'Committed. The snapshots it made');
  await page.getByRole('heading', { name: 'Validation results per deployable' }).waitFor();
  await accessible(page, 'a committed changeset');

  await page.getByRole('navigation', { name: 'Application' }).getByRole('link', { name: 'Snapshots' }).click();
  await page.getByRole('heading', { name: 'storefront: snapshots' }).waitFor();
  await page.getByRole('button', { name: 'Publish Production-v2.dpl' }).click();
  await page.getByText('The snapshot is published').waitFor();
  await accessible(page, 'the snapshots');
  await shot(page, 'config-snapshots');
  // The export download: YAML, the secure value masked.
  await page.getByLabel('Export format of Production-v2.dpl').selectOption('yaml');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download Production-v2.dpl' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), 'Production-v2.yaml');
  const yaml = readFileSync(await download.path(), 'utf8');
  assert.match(yaml, /password: "\*{7}"/);
  assert.doesNotMatch(yaml, /demo-Storefront-pw/);
  await signOut(page);
  await page.close();
});
