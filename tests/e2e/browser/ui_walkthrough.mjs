// A user's walk through the Airflow 3 UI: log in, find feature_pipeline in the DAG list, unpause it,
// trigger it from its trigger dialog (param `day` left empty), watch the run succeed, then open the
// project's plugin page /fti/ and find the run among the validations; then read the control room's
// additions: the labelled live metadata, one entity's live quantiles (typed into the entity picker),
// the run's validation document as a table, and a batch run's drift report page. A screenshot per step.
//
// Driven by tests/e2e/test_browser_ui.py; run by hand against `make run` with
//   BASE_URL=http://127.0.0.1:8080 USERNAME=admin PASSWORD=... ARTIFACTS=test-artifacts/browser \
//   CHROMIUM=/usr/bin/chromium node tests/e2e/browser/ui_walkthrough.mjs
// Environment: BASE_URL, USERNAME, PASSWORD, ARTIFACTS (screenshot folder), CHROMIUM (the browser),
// DAG_ID (default feature_pipeline), RUN_TIMEOUT_S (default 600), ENTITY (an entity of the live run),
// DRIFT_RUN (a batch_inference run id with recorded drift scores).
// Prints `screenshot: <path>` per step and `run_id: <id>` once triggered; exits 1 on the first failure
// (after a screenshot named failure.png).
//
// Selectors are roles, labels, visible text and the data-testid attributes Airflow's UI sets for its
// own tests (toggle-pause, state-badge): never Chakra's generated class names.

import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === '') throw new Error(`environment variable ${name} is not set`);
  return value;
};

const BASE_URL = env('BASE_URL').replace(/\/$/, '');
const USERNAME = env('USERNAME', 'admin');
const PASSWORD = env('PASSWORD');
const ARTIFACTS = path.resolve(env('ARTIFACTS'));
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');
const DAG_ID = env('DAG_ID', 'feature_pipeline__online_retail');
const RUN_TIMEOUT_MS = Number(env('RUN_TIMEOUT_S', '600')) * 1000;
const ENTITY = env('ENTITY');
const DRIFT_RUN = env('DRIFT_RUN');
// The machine's network is closed: without the background-networking flag chromium keeps dialling out.
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

let shots = 0;
async function screenshot(page, name) {
  shots += 1;
  const file = path.join(ARTIFACTS, `${String(shots).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot: ${file}`);
}

async function logIn(page) {
  await page.goto(`${BASE_URL}/`);
  await page.waitForURL(/\/auth\/login/); // the simple auth manager's login page
  await page.getByLabel('Username').fill(USERNAME);
  await page.getByLabel('Password').fill(PASSWORD);
  await screenshot(page, 'login');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => !url.pathname.startsWith('/auth'));
}

async function openDagFromList(page) {
  await page.getByRole('link', { name: 'Dags', exact: true }).first().click();
  await page.waitForURL(/\/dags(\?|$)/);
  const link = page.getByRole('link', { name: DAG_ID, exact: true });
  await link.waitFor();
  await screenshot(page, 'dag-list');
  await link.click();
  await page.waitForURL(new RegExp(`/dags/${DAG_ID}$`));
  // Only the DAG's own page has this button: the list's cards (each with a toggle) are gone then.
  await page.getByRole('button', { name: 'Reparse Dag' }).waitFor();
}

async function unpause(page) {
  const toggle = page.getByTestId('toggle-pause');
  const active = toggle.getByRole('checkbox');
  await active.waitFor({ state: 'attached' });
  if (!(await active.isChecked())) await toggle.click();
  await page.waitForFunction((el) => el.checked, await active.elementHandle());
  await screenshot(page, 'dag-unpaused');
}

async function trigger(page) {
  await page.getByRole('button', { name: 'Trigger Dag' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByText(`Trigger Dag - ${DAG_ID}`).waitFor();
  await dialog.getByText('Run Parameters').waitFor(); // the `day` param, left empty
  await screenshot(page, 'trigger-dialog');
  await dialog.getByRole('button', { name: 'Trigger', exact: true }).click();
  // The UI opens the new run's page: its URL carries the run id.
  const runPage = new RegExp(`/dags/${DAG_ID}/runs/([^/?#]+)`);
  await page.waitForURL(runPage);
  const runId = decodeURIComponent(page.url().match(runPage)[1]);
  console.log(`run_id: ${runId}`);
  await screenshot(page, 'run-triggered');
  return runId;
}

async function runState(page, runId) {
  // The run's row in the DAG's Runs tab, reloaded: the list is what a user scans for the outcome.
  await page.goto(`${BASE_URL}/dags/${DAG_ID}/runs`);
  const badge = page.getByRole('row').filter({ hasText: runId }).getByTestId('state-badge');
  await badge.waitFor();
  return (await badge.innerText()).trim().toLowerCase();
}

async function polledState(page, runId) {
  // On 2 busy cores a reload of the runs list can outlast the page timeout: ask again at the next poll.
  try {
    return await runState(page, runId);
  } catch (error) {
    if (error.name !== 'TimeoutError') throw error;
    console.log(`runs list slow to answer (${error.message.split('\n')[0]}); polling again`);
    return 'unknown';
  }
}

async function waitForSuccess(page, runId) {
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  let state = await polledState(page, runId);
  while (!['success', 'failed'].includes(state) && Date.now() < deadline) {
    await page.waitForTimeout(5000);
    state = await polledState(page, runId);
  }
  await screenshot(page, `runs-list-${state.replace(/\W+/g, '-')}`);
  if (state !== 'success') throw new Error(`run ${runId} of ${DAG_ID} is ${state} in the UI, not success`);
  await page.goto(`${BASE_URL}/dags/${DAG_ID}/runs/${encodeURIComponent(runId)}`);
  await page.getByTestId('state-badge').filter({ hasText: /success/i }).first().waitFor();
  await screenshot(page, 'run-success');
}

async function checkPluginPage(page, runId) {
  // Contract of the fti plugin: sections #validations, #drift, #champion, #live of the data set in
  // ?dataset= (the DAG id's part after "__"), a link to each other data set; the validations table
  // lists the run id of each feature_pipeline validation.
  const dataset = DAG_ID.split('__')[1];
  const response = await page.goto(`${BASE_URL}/fti/?dataset=${encodeURIComponent(dataset)}`);
  if (!response || response.status() !== 200) {
    throw new Error(`GET /fti/ answered ${response ? response.status() : 'nothing'}`);
  }
  for (const id of ['validations', 'drift', 'champion', 'training', 'live', 'quantiles', 'realized']) {
    if ((await page.locator(`section#${id}`).count()) === 0) {
      await screenshot(page, 'fti-plugin-incomplete');
      throw new Error(`the plugin page /fti/ has no section id="${id}"`);
    }
  }
  await page.locator('p.datasets').getByText(dataset, { exact: true }).first().waitFor();
  await page.locator('section#validations').getByText(runId, { exact: false }).first().waitFor();
  // The live metadata reads as labels, not raw field names.
  await page.locator('section#live table.live-meta').getByText('Model version', { exact: true }).waitFor();
  await screenshot(page, 'fti-plugin');
}

async function checkEntityForecast(page) {
  // The entity picker is a plain GET form: type an entity, get its P10/P50/P90 and point per period.
  const section = page.locator('section#quantiles');
  await section.getByLabel('entity').fill(ENTITY);
  await section.getByRole('button', { name: 'Show forecast' }).click();
  const table = page.locator('section#quantiles table.entity-forecast');
  await table.waitFor();
  for (const column of ['P10', 'P50', 'P90', 'point forecast']) {
    await table.getByRole('columnheader', { name: column, exact: true }).waitFor();
  }
  const rows = await table.locator('tbody tr').count();
  if (rows === 0) throw new Error(`the forecast of ${ENTITY} has no rows`);
  await section.scrollIntoViewIfNeeded();
  await screenshot(page, 'fti-entity-forecast');
}

async function checkValidationDocument(page, runId) {
  // The run's "document" link opens the validation as a table, not raw JSON.
  const dataset = DAG_ID.split('__')[1];
  await page.goto(`${BASE_URL}/fti/?dataset=${encodeURIComponent(dataset)}`);
  const row = page.locator('section#validations tr').filter({ hasText: runId }).first();
  await row.getByRole('link', { name: 'document' }).click();
  await page.waitForURL(/\/fti\/validations\//);
  const table = page.locator('table.expectations').first();
  for (const column of ['expectation', 'column', 'success', 'observed value']) {
    await table.getByRole('columnheader', { name: column, exact: true }).waitFor();
  }
  await screenshot(page, 'fti-validation-document');
}

async function checkDriftReport(page) {
  // A batch run's report link in the drift section opens that run's page: distances vs thresholds, verdict.
  const dataset = DAG_ID.split('__')[1];
  await page.goto(`${BASE_URL}/fti/?dataset=${encodeURIComponent(dataset)}`);
  await page.locator('section#drift p.run-reports').getByRole('link', { name: DRIFT_RUN, exact: true }).click();
  await page.waitForURL(/\/fti\/drift\//);
  await page.locator('table.run-drift').getByRole('columnheader', { name: 'JS distance' }).waitFor();
  await page.locator('p.verdict').getByText(/^drift (ok|warn|fail): /).waitFor();
  await screenshot(page, 'fti-drift-report');
}

async function main() {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(60_000); // the first load of the UI's bundle is slow on 2 busy cores
  try {
    await logIn(page);
    await openDagFromList(page);
    await unpause(page);
    const runId = await trigger(page);
    await waitForSuccess(page, runId);
    await checkPluginPage(page, runId);
    await checkEntityForecast(page);
    await checkValidationDocument(page, runId);
    await checkDriftReport(page);
  } catch (error) {
    await screenshot(page, 'failure').catch(() => {});
    console.error(`ui walkthrough failed at ${page.url()}: ${error.stack ?? error}`);
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}

await main();
