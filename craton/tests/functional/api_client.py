# SPDX-License-Identifier: Apache-2.0
"""A small REST client for functional tests: the API as an operator
(or the CLI) uses it, with noauth identity headers."""

import time

import requests

FINAL_JOB = ('succeeded', 'failed', 'error', 'cancelled')


class APIError(AssertionError):
    pass


class Client:
    def __init__(self, base_url, project='project-a', user='user-a',
                 roles='admin,member,reader'):
        self.base_url = base_url.rstrip('/')
        self.session = requests.Session()
        self.session.headers.update({'X-Project-Id': project,
                                     'X-User-Id': user, 'X-Roles': roles})

    def request(self, method, path, expect=None, **kwargs):
        kwargs.setdefault('timeout', 60)
        resp = self.session.request(method, self.base_url + path, **kwargs)
        if expect is not None and resp.status_code != expect:
            raise APIError('%s %s: expected %s, got %s: %s' % (
                method, path, expect, resp.status_code, resp.text[:2000]))
        return resp

    def get(self, path, expect=200, **kwargs):
        return self.request('GET', path, expect, **kwargs).json()

    def post(self, path, body=None, expect=None, **kwargs):
        resp = self.request('POST', path, expect, json=body, **kwargs)
        return resp.json() if resp.content else None

    # Tasks
    def create_task(self, name, path, command, timeout=None):
        body = {'name': name, 'command': command,
                'source': {'type': 'local', 'path': path}}
        if timeout:
            body['timeout'] = timeout
        return self.post('/v1/tasks', body, expect=202)

    def wait_task(self, ident, status='ready', timeout=300):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            task = self.get('/v1/tasks/%s' % ident)
            if task['status'] == status:
                return task
            if task['status'] == 'error' and status != 'error':
                raise APIError('task %s failed to build: %s' % (
                    ident, task['status_reason']))
            time.sleep(0.3)
        raise APIError('task %s not %s after %s s: %s' % (
            ident, status, timeout, task))

    def ready_task(self, name, path, command, timeout=None):
        """Create, build and approve a task; returns it."""
        task = self.create_task(name, path, command, timeout)
        self.wait_task(task['uuid'])
        return self.post('/v1/tasks/%s/approve' % task['uuid'], expect=200)

    # Inventory
    def add_hosts(self, names, region='r1', labels=('compute',),
                  variables=None):
        if not self.get('/v1/regions', params={'name': region})['regions']:
            self.post('/v1/regions', {'name': region}, expect=201)
        return [self.post('/v1/hosts', {
            'name': name, 'region': region, 'labels': list(labels),
            'ip_address': '127.0.0.%d' % (i + 10),
            'variables': variables or {}}, expect=201)
            for i, name in enumerate(names)]

    # Workflows and jobs
    def create_workflow(self, name, steps, variables=None):
        return self.post('/v1/workflows', {
            'name': name, 'steps': steps, 'variables': variables or {}},
            expect=201)

    def submit_job(self, inventory, workflow=None, task=None, variables=None,
                   expect=202):
        body = {'inventory': inventory, 'variables': variables or {}}
        if workflow:
            body['workflow'] = workflow
        if task:
            body['task'] = task
        return self.post('/v1/jobs', body, expect=expect)

    def job(self, uuid):
        return self.get('/v1/jobs/%s' % uuid)

    def wait_job(self, uuid, timeout=180, statuses=FINAL_JOB):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.job(uuid)
            if job['status'] in statuses:
                return job
            time.sleep(0.3)
        raise APIError('job %s not in %s after %s s: %s' % (
            uuid, statuses, timeout, job))

    def wait_step(self, uuid, index, status, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.job(uuid)
            if job['steps'][index]['status'] == status:
                return job
            time.sleep(0.2)
        raise APIError('step %s of job %s not %s: %s' % (
            index, uuid, status, job))

    def logs(self, uuid, index, offset=0):
        """(bytes, next offset, complete) for one page of a step's log."""
        resp = self.request('GET', '/v1/jobs/%s/steps/%d/logs' % (
            uuid, index), 200, params={'offset': offset})
        return (resp.content, int(resp.headers['X-Craton-Log-Offset']),
                resp.headers['X-Craton-Log-Complete'] == 'true')

    def full_log(self, uuid, index):
        data, offset = b'', 0
        while True:
            chunk, offset, complete = self.logs(uuid, index, offset)
            data += chunk
            if not chunk:
                return data, complete
