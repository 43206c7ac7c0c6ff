// Test-only preload (node --require) for test/stack/containment.test.ts: injects the kind of bug
// the embedded stack must contain. Never loaded by the platform itself.
//   X-Test-Fault: escape  an exception thrown after the request, outside every handler
//   X-Test-Fault: reject  a promise rejection nobody handles
//   SIGUSR2               an exception no service owns
const http = process.getBuiltinModule('node:http');

const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function (event, req, ...rest) {
  if (event === 'request') {
    const fault = req.headers['x-test-fault'];
    if (fault === 'escape') {
      setImmediate(() => {
        throw new Error('injected fault (test hook)');
      });
    } else if (fault === 'reject') {
      Promise.reject(new Error('injected rejection (test hook)'));
    }
  }
  return emit.call(this, event, req, ...rest);
};

process.on('SIGUSR2', () => {
  setImmediate(() => {
    throw new Error('injected unowned fault (test hook)');
  });
});
