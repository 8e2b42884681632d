// The story with servicenow-rest-api 1.2.2 (npm): createNewTask, getTableData
// with its filter list, UpdateTask and DeleteTask (by number), and the
// attachment reads (getAllAttachmentsMetaData, getAttachmentMetaData,
// getAttachment). It writes with sysparm_input_display_value=true, so
// references go by display name ("Rita Release") and choices by label, and
// reads with sysparm_display_value=true.
//
// What it lacks: paging (getTableData has no limit or offset; the story checks
// that one call answers every record), batch operations, and uploads (the
// file it reads back is attached by this script through the Attachment API).
//
// Environment: as the Python stories (TOLLGATE_INTEROP_URL, _PASSWORD, _RUN);
// NODE_EXTRA_CA_CERTS names the suite's CA (the client speaks only https).
'use strict';

const https = require('https');
const ServiceNow = require('servicenow-rest-api');

const URL_ = process.env.TOLLGATE_INTEROP_URL.replace(/\/$/, '');
const HOST = URL_.split('://')[1];
const PASSWORD = process.env.TOLLGATE_INTEROP_PASSWORD;
const RUN = process.env.TOLLGATE_INTEROP_RUN || 'local';
const TAG = `interop servicenow-rest-api ${RUN}`;
const COUNT = 12;
const RITA = 'dc6770ae3b97a210532fb50f23e45a33';
const FILE_TEXT = 'interop file\nline two: servicenow-rest-api\n';

// The client takes "host" or "host:port" (anything with a dot is used as is).
const sn = new ServiceNow(HOST, 'admin', PASSWORD);

class Failed extends Error {}

function check(condition, what) {
  if (!condition) throw new Failed(what);
}

function equal(got, expected, what) {
  const a = JSON.stringify(got);
  const b = JSON.stringify(expected);
  if (a !== b) throw new Failed(`${what}: expected ${b}, got ${a}`);
}

// The client answers through a callback, with the error object on failure.
function call(method, ...args) {
  return new Promise((resolve, reject) => {
    sn[method](...args, (answer) => {
      if (answer instanceof Error) {
        const status = answer.response ? answer.response.status : 'no answer';
        const body = answer.response ? JSON.stringify(answer.response.data) : answer.message;
        reject(new Failed(`${method} failed: ${status} ${body}`));
      } else {
        resolve(answer);
      }
    });
  });
}

// getTableData prints each URL it asks for; the story's output stays short.
async function quietly(start) {
  const log = console.log;
  console.log = () => {};
  try {
    return await start();
  } finally {
    console.log = log;
  }
}

const FIELDS = ['sys_id', 'number', 'short_description', 'assigned_to', 'state', 'description'];

function tagged() {
  return quietly(() => call('getTableData', FIELDS,
    [`short_descriptionSTARTSWITH${TAG}`, `assigned_to=${RITA}`, 'ORDERBYshort_description'], 'incident'));
}

// Attaching is not in the client: a plain HTTPS POST to the Attachment API.
function upload(sysId) {
  return new Promise((resolve, reject) => {
    const request = https.request(`${URL_}/api/now/attachment/file?table_name=incident&table_sys_id=${sysId}&file_name=node.txt`, {
      method: 'POST',
      auth: `admin:${PASSWORD}`,
      headers: { 'Content-Type': 'text/plain', Accept: 'application/json' },
    }, (answer) => {
      let body = '';
      answer.on('data', (chunk) => { body += chunk; });
      answer.on('end', () => (answer.statusCode === 201
        ? resolve(JSON.parse(body).result)
        : reject(new Failed(`upload answered ${answer.statusCode}: ${body}`))));
    });
    request.on('error', reject);
    request.end(FILE_TEXT);
  });
}

const state = {};
let passed = 0;

const steps = [
  ['create (createNewTask, references by display name)', async () => {
    state.records = [];
    for (let i = 0; i < COUNT; i += 1) {
      const created = await call('createNewTask', {
        short_description: `${TAG} #${String(i).padStart(2, '0')}`,
        description: 'made by servicenow-rest-api',
        assigned_to: 'Rita Release',
        state: 'Work in Progress',
      }, 'incident');
      equal(created.assigned_to && created.assigned_to.display_value, 'Rita Release', 'assigned_to in the answer');
      equal(created.state, 'Work in Progress', 'state (display value) in the answer');
      state.records.push(created);
    }
    equal(new Set(state.records.map((r) => r.sys_id)).size, COUNT, 'distinct sys_ids');
  }],
  ['read back (getTableData by number)', async () => {
    const { number } = state.records[3];
    const found = await quietly(() => call('getTableData', FIELDS, [`number=${number}`], 'incident'));
    equal(found.length, 1, 'records with the number');
    equal(found[0].short_description, `${TAG} #03`, 'short_description');
    equal(found[0].assigned_to.display_value, 'Rita Release', 'assigned_to');
    equal(found[0].state, 'Work in Progress', 'state');
  }],
  ['query (filters) and every record in one answer (no paging)', async () => {
    const found = await tagged();
    equal(found.map((r) => r.sys_id), state.records.map((r) => r.sys_id), 'the story\'s records, in order');
  }],
  ['update (UpdateTask by number, display values)', async () => {
    const { number, sys_id: sysId } = state.records[0];
    const updated = await call('UpdateTask', 'incident', number, {
      state: 'Closed Complete', assigned_to: 'System Administrator', description: 'updated by servicenow-rest-api',
    });
    equal(updated.sys_id, sysId, 'the updated record');
    equal(updated.state, 'Closed Complete', 'state in the answer');
    const found = await quietly(() => call('getTableData', FIELDS, [`sys_id=${sysId}`], 'incident'));
    equal(found[0].state, 'Closed Complete', 'state read back');
    equal(found[0].assigned_to.display_value, 'System Administrator', 'assigned_to read back');
    equal(found[0].description, 'updated by servicenow-rest-api', 'description read back');
  }],
  ['read an attachment back (metadata, list, bytes)', async () => {
    const sysId = state.records[1].sys_id;
    const uploaded = await upload(sysId);
    const listed = await call('getAllAttachmentsMetaData', sysId);
    equal(listed.map((a) => a.sys_id), [uploaded.sys_id], 'the record\'s attachments');
    const meta = await call('getAttachmentMetaData', uploaded.sys_id);
    equal(meta.file_name, 'node.txt', 'the file\'s name');
    equal(meta.size_bytes, String(Buffer.byteLength(FILE_TEXT)), 'size_bytes');
    const file = await call('getAttachment', uploaded.sys_id);
    equal(file.status, 200, 'download status');
    equal(file.data, FILE_TEXT, 'the attachment\'s text read back');
    state.attachment = uploaded.sys_id;
  }],
  ['delete (DeleteTask by number)', async () => {
    for (const record of state.records) {
      const answer = await call('DeleteTask', 'incident', record.number);
      equal(answer.status, 204, `DeleteTask ${record.number}`);
    }
    equal(await tagged(), [], 'records left after the deletes');
    const listed = await call('getAllAttachmentsMetaData', state.records[1].sys_id);
    equal(listed, [], 'the deleted record\'s attachments');
  }],
];

(async () => {
  for (const [name, step] of steps) {
    try {
      await step();
    } catch (error) {
      console.log(`  FAIL servicenow-rest-api: ${name}: ${error.message}`);
      if (!(error instanceof Failed)) console.log(error.stack);
      console.log(`servicenow-rest-api: ${passed} passed, 1 failed`);
      process.exit(1);
    }
    passed += 1;
    console.log(`  ok   servicenow-rest-api: ${name}`);
  }
  console.log(`servicenow-rest-api: ${passed} passed, 0 failed`);
})();
