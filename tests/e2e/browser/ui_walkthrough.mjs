// A user's walk through the Airflow 3 UI: log in, find feature_pipeline in the DAG list, unpause it,
// trigger it from its trigger dialog (param `day` left empty), watch the run succeed, read the verdict
// line of validate_raw's and build_and_commit's logs (scrolling the virtualised log viewer), then open the
// project's plugin page /fti/ and find the run among the validations; then read the control room's
// additions: the labelled live metadata, one entity's live quantiles (typed into the entity picker),
// the run's validation document as a table, a batch run's drift report page, and (with CHAMPION_DATASET)
// a registered champion's test metrics next to its baselines and its training: real duration, split
// drift, zero-forecast slices, and the live run published from it. A screenshot per step.
//
// Driven by tests/e2e/test_browser_ui.py; run by hand against `make run` with
//   BASE_URL=http://127.0.0.1:8080 USERNAME=admin PASSWORD=... ARTIFACTS=test-artifacts/browser \
//   CHROMIUM=/usr/bin/chromium node tests/e2e/browser/ui_walkthrough.mjs
// Environment: BASE_URL, USERNAME, PASSWORD, ARTIFACTS (screenshot folder), CHROMIUM (the browser),
// DAG_ID (default feature_pipeline), RUN_TIMEOUT_S (default 600), ENTITY (an entity of the live run),
// DRIFT_RUN (a batch_inference run id with recorded drift scores), CHAMPION_DATASET (optional: a data set
// whose registry has a champion).
// Prints `screenshot: <path>` per step, `run_id: <id>` once triggered, `verdict: <task>: <line>` per
// task log read and `champion: <json>` (what the champion's sections showed); exits 1 on the first
// failure (after a screenshot named failure.png).
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
const CHAMPION_DATASET = process.env.CHAMPION_DATASET ?? '';
// The machine's network is closed: without the background-networking flag chromium keeps dialling out.
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

let shots = 0;
async function screenshot(page, name, part = null) {
  // The whole page, or only `part` (a locator) where the page is long and the step is about one section.
  shots += 1;
  const file = path.join(ARTIFACTS, `${String(shots).padStart(2, '0')}-${name}.png`);
  if (part) await part.screenshot({ path: file });
  else await page.screenshot({ path: file, fullPage: true });
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

// The task logs a person reads: the task's one verdict line, and none of Great Expectations' registration
// chatter. Airflow's log viewer is a virtualised list (only the lines near the viewport are in the DOM):
// the whole log is read by scrolling its container, then the verdict is scrolled into view.
const TASK_VERDICTS = {
  validate_raw: ['raw ok:', /raw ok: \d+ expectations on \d+ rows/],
  build_and_commit: ['partitions (', /committed \d+ of \d+ partitions \(\d+ unchanged\), \d+ rows/],
};
const LOG_NOISE = /Registering (expectation|metric)|Registered \d+ core|for expectation_type|Returned value was/;

async function renderedLogLines(page) {
  // Scroll the log container top to bottom, a screen at a time, keeping each rendered line by its index.
  const container = page.getByTestId('virtual-scroll-container');
  const lines = new Map();
  await container.evaluate((el) => { el.scrollTop = 0; });
  for (let screens = 0; screens < 200; screens += 1) {
    await page.waitForTimeout(150); // the virtualiser renders the lines of the new offset on the next frame
    const items = await container.locator('[data-index]').evaluateAll((els) =>
      els.map((el) => [Number(el.getAttribute('data-index')), el.innerText.replace(/\s+/g, ' ').trim()]));
    for (const [index, text] of items) lines.set(index, text);
    const atBottom = await container.evaluate((el) => {
      const bottom = el.scrollTop + el.clientHeight >= el.scrollHeight - 2;
      el.scrollTop += el.clientHeight * 0.8;
      return bottom;
    });
    if (atBottom) break;
  }
  return [...lines.entries()].sort((a, b) => a[0] - b[0]).map(([, text]) => text);
}

async function logSetting(page, testId, off) {
  // An item of the log's settings menu, a toggle: choose it only if its label says it is off.
  await page.getByTestId('log-settings-button').click();
  const item = page.getByTestId(testId);
  if (off.test(await item.innerText())) await item.click();
  else await page.keyboard.press('Escape');
  await item.waitFor({ state: 'hidden' });
}

async function checkTaskLog(page, runId, taskId) {
  const [search, verdict] = TASK_VERDICTS[taskId];
  const started = Date.now();
  await page.goto(`${BASE_URL}/dags/${DAG_ID}/runs/${encodeURIComponent(runId)}/tasks/${taskId}`);
  const container = page.getByTestId('virtual-scroll-container');
  await container.locator('[data-index]').first().waitFor();
  // Airflow folds its own pre- and post-execution lines into collapsed groups: open them, so the noise
  // check reads every line of the log; wrap long lines, so the screenshot shows the whole verdict.
  await logSetting(page, 'log-settings-expand', /^\s*Expand/);
  await logSetting(page, 'log-settings-wrap', /^\s*Wrap/);
  // The log arrives in pages: wait until the line the verdict is on has been fetched (it is near the end).
  let lines = [];
  for (let tries = 0; tries < 10 && !lines.some((l) => verdict.test(l)); tries += 1) {
    if (tries) await page.waitForTimeout(1000);
    lines = await renderedLogLines(page);
  }
  const verdicts = lines.filter((l) => verdict.test(l));
  const noise = lines.filter((l) => LOG_NOISE.test(l));
  console.log(`log: ${taskId} ${lines.length} lines, ${verdicts.length} verdict, ${noise.length} noise`);
  if (verdicts.length !== 1) {
    await screenshot(page, `task-log-${taskId}-no-verdict`);
    throw new Error(`the log of ${taskId} shows ${verdicts.length} lines matching ${verdict}, not 1:\n${lines.join('\n')}`);
  }
  if (noise.length) throw new Error(`the log of ${taskId} shows noise:\n${noise.slice(0, 5).join('\n')}`);
  // What a person sees: the verdict line scrolled into the viewport (found by the log's own search box).
  await page.getByTestId('log-search-input').fill(search);
  const shown = container.locator('[data-index]').filter({ hasText: verdict }).first();
  await shown.waitFor({ state: 'visible' });
  await shown.scrollIntoViewIfNeeded();
  const box = await shown.boundingBox();
  const view = await container.boundingBox();
  if (!box || !view || box.y < view.y || box.y + box.height > view.y + view.height + 1) {
    throw new Error(`the verdict line of ${taskId} is not inside the log's viewport`);
  }
  console.log(`verdict: ${taskId}: ${(await shown.innerText()).replace(/\s+/g, ' ').trim()}`);
  await screenshot(page, `task-log-${taskId}`);
  console.log(`log check: ${taskId} took ${((Date.now() - started) / 1000).toFixed(1)} s`);
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

const NUMBER = /-?\d+(\.\d+)?(e[-+]?\d+)?/;

async function checkChampion(page) {
  // The champion section: its version, and its test metrics in a table whose first row is the model's and
  // whose other rows are the baselines it was compared with (zero among them).
  await page.goto(`${BASE_URL}/fti/?dataset=${encodeURIComponent(CHAMPION_DATASET)}`);
  const champion = page.locator('section#champion');
  const head = (await champion.locator('p').first().innerText()).replace(/\s+/g, ' ');
  const version = head.match(/ version (\d+) /);
  if (!version) throw new Error(`the champion section names no version: ${head}`);
  const metrics = champion.locator('table').first();
  for (const column of ['WAPE', 'MAE', 'bias % of demand']) {
    await metrics.getByRole('columnheader', { name: column, exact: true }).waitFor();
  }
  const rows = await metrics.locator('tbody tr').evaluateAll((trs) =>
    trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.innerText.trim())));
  const wape = Object.fromEntries(rows.map((cells) => [cells[0], Number(cells[1])]));
  if (rows[0]?.[0] !== 'champion' || !('zero' in wape) || rows.length < 3) {
    throw new Error(`the champion's metrics table is not the model then its baselines: ${JSON.stringify(rows)}`);
  }
  await champion.scrollIntoViewIfNeeded();
  await screenshot(page, 'fti-champion-vs-baselines', champion);
  // The training section: the run's real duration (metric training_s), not how long MLflow's run was open.
  const training = page.locator('section#training');
  const duration = (await training.locator('p.duration').innerText()).replace(/\s+/g, ' ');
  const trained = duration.match(new RegExp(`trained in (${NUMBER.source}) s`));
  const open = duration.match(new RegExp(`MLflow run was open (${NUMBER.source}) s`));
  if (!trained || !open) throw new Error(`the training section shows no duration: ${duration}`);
  const drift = training.locator('table.split-drift');
  await drift.getByRole('columnheader', { name: 'largest JS distance' }).waitFor();
  const driftRows = await drift.locator('tbody tr').count();
  const zero = await training.getByRole('heading', { name: /^Slices where the champion predicts zero: \d+$/ })
    .innerText();
  await training.scrollIntoViewIfNeeded();
  await screenshot(page, 'fti-champion-training', training);
  // The live run: a batch published from that champion, its model version in the labelled metadata.
  const live = page.locator('section#live');
  const liveRun = (await live.locator('p b').first().innerText()).trim();
  const liveVersion = (await live.locator('table.live-meta tr').filter({ hasText: 'Model version' })
    .locator('td').nth(1).innerText()).trim();
  await live.scrollIntoViewIfNeeded();
  await screenshot(page, 'fti-champion-live', live);
  console.log(`champion: ${JSON.stringify({
    version: version[1], wape, training_s: Number(trained[1]), run_open_s: Number(open[1]),
    split_drift_features: driftRows, zero_slices: Number(zero.match(/(\d+)$/)[1]),
    live_run: liveRun, live_version: liveVersion,
  })}`);
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
    for (const taskId of Object.keys(TASK_VERDICTS)) await checkTaskLog(page, runId, taskId);
    await checkPluginPage(page, runId);
    await checkEntityForecast(page);
    await checkValidationDocument(page, runId);
    await checkDriftReport(page);
    if (CHAMPION_DATASET) await checkChampion(page);
  } catch (error) {
    await screenshot(page, 'failure').catch(() => {});
    console.error(`ui walkthrough failed at ${page.url()}: ${error.stack ?? error}`);
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}

await main();
