// Adds "node-proxy-from-env" (true: connect directly) to each JSON line read from stdin, as
// proxy-from-env's getProxyForUrl decides with that no_proxy value. See generate.py.
const { getProxyForUrl } = require('proxy-from-env');
const input = require('fs').readFileSync(0, 'utf8').split('\n').filter(Boolean);
process.env.http_proxy = 'http://proxy.invalid:3128';
process.env.https_proxy = 'http://proxy.invalid:3128';
delete process.env.NO_PROXY;
for (const line of input) {
  const c = JSON.parse(line);
  process.env.no_proxy = c.no_proxy;
  c['node-proxy-from-env'] = getProxyForUrl(c.url) === '';
  console.log(JSON.stringify(c));
}
