#!/usr/bin/env node
// A zyre.js peer driven like `zre --json`, for interop tests.
//
// Reads commands on stdin, one per line: /join G, /leave G, /shout G text...,
// /whisper NAME|UUID text..., /shoutx G HEX, /whisperx NAME|UUID HEX (one
// binary frame, - for an empty one: zyre.js carries one content frame per
// message and drops any further frames it receives), /quit (EOF quits too). Prints one JSON object per line on stdout in the schema of
// `zre --json`: READY, ENTER, EXIT, JOIN, LEAVE, SHOUT, WHISPER, EVASIVE,
// STOP. Peer ids are 32 upper-case hex digits; a content frame that is not
// UTF-8 is {"hex": "..."}. A peer that zyre.js drops (expired, a port-0
// beacon, a sequence error) is one EXIT; an expired one says so in "reason".
'use strict';

const readline = require('readline');
const Zyre = require('zyre.js');

function parseArgs(argv) {
  const args = { headers: {}, bport: 5670, binterval: 1000, evasive: 5000, expired: 30000 };
  for (let i = 0; i < argv.length; i += 1) {
    const value = argv[i + 1];
    switch (argv[i]) {
      case '--name': args.name = value; i += 1; break;
      case '--iface': args.iface = value; i += 1; break;
      case '--header': {
        const at = value.indexOf('=');
        args.headers[value.slice(0, at)] = value.slice(at + 1);
        i += 1;
        break;
      }
      case '--beacon-port': args.bport = Number(value); i += 1; break;
      case '--beacon-interval': args.binterval = Number(value); i += 1; break;
      case '--evasive': args.evasive = Number(value); i += 1; break;
      case '--expired': args.expired = Number(value); i += 1; break;
      default: throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  return args;
}

function emit(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function frameJson(content) {
  if (typeof content === 'string') return content;
  const text = content.toString('utf8');
  return Buffer.from(text, 'utf8').equals(content) ? text : { hex: content.toString('hex') };
}

const args = parseArgs(process.argv.slice(2));
const zyre = new Zyre({
  name: args.name,
  iface: args.iface,
  headers: args.headers,
  evasive: args.evasive,
  expired: args.expired,
  bport: args.bport,
  binterval: args.binterval,
});
// Content as Buffers, not utf8 strings: binary frames must survive.
zyre.setEncoding('raw');
const names = new Map();
const id = (identity) => identity.toUpperCase();

function resolve(target) {
  for (const [identity, name] of names) {
    if (name === target) return identity;
  }
  return target.toLowerCase();
}

zyre.on('connect', (identity, name, headers) => {
  names.set(identity, name);
  const peer = zyre.getPeer(identity);
  emit({ event: 'ENTER', peer: id(identity), name, headers, endpoint: peer && peer.endpoint });
});
// zyre.js fires 'expired' and then 'disconnect' for an expired peer.
const expired = new Set();
zyre.on('expired', (identity) => expired.add(identity));
zyre.on('disconnect', (identity, name) => {
  const reason = expired.delete(identity) ? 'expired' : 'disconnect';
  emit({ event: 'EXIT', peer: id(identity), name, reason });
});
zyre.on('join', (identity, name, group) => emit({ event: 'JOIN', peer: id(identity), name, group }));
zyre.on('leave', (identity, name, group) => emit({ event: 'LEAVE', peer: id(identity), name, group }));
zyre.on('whisper', (identity, name, message) => {
  emit({ event: 'WHISPER', peer: id(identity), name, content: [frameJson(message)] });
});
zyre.on('shout', (identity, name, message, group) => {
  emit({ event: 'SHOUT', peer: id(identity), name, group, content: [frameJson(message)] });
});

function unhex(words) {
  const frames = words.split(/\s+/).filter((w) => w);
  if (frames.length !== 1) process.stderr.write('zyre.js sends one frame: using the first\n');
  return frames[0] === '-' ? Buffer.alloc(0) : Buffer.from(frames[0], 'hex');
}

function command(line) {
  const trimmed = line.trim();
  if (!trimmed) return true;
  const space = trimmed.indexOf(' ');
  const cmd = space < 0 ? trimmed : trimmed.slice(0, space);
  const rest = space < 0 ? '' : trimmed.slice(space + 1);
  const split = () => {
    const at = rest.indexOf(' ');
    return at < 0 ? [rest, ''] : [rest.slice(0, at), rest.slice(at + 1)];
  };
  switch (cmd) {
    case '/quit': return false;
    case '/join': zyre.join(rest); break;
    case '/leave': zyre.leave(rest); break;
    case '/shout': { const [g, text] = split(); zyre.shout(g, text); break; }
    case '/whisper': { const [t, text] = split(); zyre.whisper(resolve(t), text); break; }
    case '/shoutx': { const [g, hex] = split(); zyre.shout(g, unhex(hex)); break; }
    case '/whisperx': { const [t, hex] = split(); zyre.whisper(resolve(t), unhex(hex)); break; }
    default: process.stderr.write(`unknown command ${cmd}\n`);
  }
  return true;
}

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  zyre.stop(() => {
    emit({ event: 'STOP' });
    process.exit(0);
  });
}

zyre.start(() => {
  emit({
    event: 'READY',
    peer: id(zyre.getIdentity()),
    name: args.name,
    // zyre.js keeps its inbox endpoint on its (internal) node object.
    endpoint: zyre._zyreNode && zyre._zyreNode._endpoint,
  });
  const input = readline.createInterface({ input: process.stdin });
  input.on('line', (line) => { if (!command(line)) stop(); });
  input.on('close', stop);
});
process.on('SIGTERM', stop);
