/** Which addresses are never fetched, which redirects may be followed, and how credentials are kept out of URIs. */
import { describe, expect, it } from 'vitest';
import { blockedAddress, hostAllowed, hostnameOf, isLoopback } from '../../src/net/address.js';
import { redactSecrets, redactUrl, redactUrlsIn, splitUserinfo } from '../../src/net/secrets.js';

describe('blocked addresses', () => {
  it('refuses link-local and cloud metadata addresses in every spelling', () => {
    for (const a of [
      '169.254.169.254',
      '169.254.0.1',
      '169.254.170.2',
      '[fe80::1]',
      'fe80::1%eth0',
      'febf::1',
      'fd00:ec2::254',
      '[fd00:ec2:0:0:0:0:0:254]',
      '::ffff:169.254.169.254',
      '[::ffff:a9fe:a9fe]',
      '100.100.100.200',
      '168.63.129.16',
      '192.0.0.192',
    ])
      expect(blockedAddress(a), a).toBeDefined();
  });
  it('lets ordinary, private and loopback addresses and names through (names are checked after DNS)', () => {
    for (const a of ['127.0.0.1', '10.0.0.1', '192.168.1.1', '::1', '[2001:db8::1]', 'fd00:ec2::253', 'fec0::1', '169.253.1.1', 'metadata.google.internal'])
      expect(blockedAddress(a), a).toBeUndefined();
  });
});

describe('hosts', () => {
  it('reads host names out of host[:port] and brackets', () => {
    expect(hostnameOf('Example.COM:443')).toBe('example.com');
    expect(hostnameOf('[::1]:5000')).toBe('::1');
    expect(hostnameOf('::1')).toBe('::1');
    expect(isLoopback('127.9.9.9:80')).toBe(true);
    expect(isLoopback('[::1]:5000')).toBe(true);
    expect(isLoopback('localhost.example.com')).toBe(false);
  });
  it('follows redirects on the same host name, or to hosts the user listed', () => {
    expect(hostAllowed('mirror.example:8443', 'mirror.example')).toBe(true);
    expect(hostAllowed('cdn.example', 'mirror.example')).toBe(false);
    expect(hostAllowed('cdn.example', 'mirror.example', ['cdn.example'])).toBe(true);
    expect(hostAllowed('a.cdn.example', 'mirror.example', ['*.cdn.example'])).toBe(true);
    expect(hostAllowed('cdn.example', 'mirror.example', ['*.cdn.example'])).toBe(false);
    expect(hostAllowed('evilcdn.example', 'mirror.example', ['*.cdn.example'])).toBe(false);
    expect(hostAllowed('cdn.example:444', 'mirror.example', ['cdn.example:443'])).toBe(false);
    expect(hostAllowed('cdn.example:443', 'mirror.example', ['cdn.example:443'])).toBe(true);
  });
});

describe('credentials in URLs', () => {
  it('splits userinfo into a Basic authorization and a URL without it', () => {
    expect(splitUserinfo('yum+https://ci:p%40ss@mirror.example/repo/')).toEqual({
      url: 'yum+https://mirror.example/repo/',
      authorization: `Basic ${Buffer.from('ci:p@ss').toString('base64')}`,
    });
    expect(splitUserinfo('https://mirror.example/a@b')).toEqual({ url: 'https://mirror.example/a@b' });
    expect(redactUrl('oci://u:p@registry:5000/app')).toBe('oci://registry:5000/app');
    expect(redactUrlsIn('GET https://u:p@h/x failed; see http://a@b/')).toBe('GET https://h/x failed; see http://b/');
  });
  it('cuts a token out of text in every form a server echoes it', () => {
    const t = 'Z9k-token-value';
    expect(redactSecrets(`bad ${t} / ${Buffer.from(t).toString('base64')} / ${encodeURIComponent('pass word')}`, [t, 'pass word', 'x'])).toBe(
      'bad [redacted] / [redacted] / [redacted]',
    );
  });
});
