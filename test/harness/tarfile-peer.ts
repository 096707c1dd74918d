/**
 * Python's tarfile as a peer for tar tests, in one long-lived python3 process (one spawn per
 * test, not per archive). It writes archives (ustar, GNU or PAX, as tarfile does), lays out file
 * trees for GNU tar to archive, and says what any archive holds, as tarfile reads it.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export type PeerEntryType = 'file' | 'hardlink' | 'symlink' | 'character-device' | 'block-device' | 'directory' | 'fifo';

export interface PeerEntry {
  name: string;
  type: PeerEntryType;
  mode: number;
  uid: number;
  gid: number;
  /** Seconds; a fraction only reaches a PAX archive. */
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  /** Base64. */
  content: string;
  /** user.* extended attributes, text values. */
  xattrs: Record<string, string>;
}

/** One member of an archive as tarfile read it. */
export interface PeerMember {
  name: string;
  type: PeerEntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  atime: number | null;
  linkname: string;
  devmajor: number;
  devminor: number;
  xattrs: Record<string, string>;
  sha256: string;
}

export type PeerRequest =
  | { op: 'write'; format: 'ustar' | 'gnu' | 'pax'; entries: PeerEntry[] }
  | { op: 'tree'; dir: string; entries: PeerEntry[] }
  | { op: 'read'; archive: string };

/** What tarfile wrote (base64) or was given, and its members; or why tarfile refused. */
export type PeerAnswer = { archive: string; members: PeerMember[] } | { refused: string };

const SCRIPT = `
import base64, hashlib, io, json, os, sys, tarfile
TYPES = {tarfile.REGTYPE: 'file', tarfile.AREGTYPE: 'file', tarfile.CONTTYPE: 'file', tarfile.LNKTYPE: 'hardlink',
         tarfile.SYMTYPE: 'symlink', tarfile.CHRTYPE: 'character-device', tarfile.BLKTYPE: 'block-device',
         tarfile.DIRTYPE: 'directory', tarfile.FIFOTYPE: 'fifo'}
FLAGS = {name: flag for flag, name in TYPES.items() if flag not in (tarfile.AREGTYPE, tarfile.CONTTYPE)}
FORMATS = {'ustar': tarfile.USTAR_FORMAT, 'gnu': tarfile.GNU_FORMAT, 'pax': tarfile.PAX_FORMAT}
XATTR = 'SCHILY.xattr.'

def members(data):
    out = []
    with tarfile.open(fileobj=io.BytesIO(data), mode='r:') as tar:
        for m in tar:
            content = tar.extractfile(m).read() if m.isreg() else b''
            out.append({'name': m.name, 'type': TYPES[m.type], 'mode': m.mode, 'uid': m.uid, 'gid': m.gid, 'size': m.size,
                        'mtime': m.mtime, 'atime': float(m.pax_headers['atime']) if 'atime' in m.pax_headers else None,
                        'linkname': m.linkname, 'devmajor': m.devmajor, 'devminor': m.devminor,
                        'xattrs': {k[len(XATTR):]: v for k, v in m.pax_headers.items() if k.startswith(XATTR)},
                        'sha256': hashlib.sha256(content).hexdigest()})
    return out

def write(fmt, entries):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode='w', format=FORMATS[fmt]) as tar:
        for e in entries:
            info = tarfile.TarInfo(e['name'])
            info.type = FLAGS[e['type']]
            info.mode, info.uid, info.gid, info.mtime = e['mode'], e['uid'], e['gid'], e['mtime']
            info.linkname, info.devmajor, info.devminor = e['linkname'], e['devmajor'], e['devminor']
            info.pax_headers = {XATTR + k: v for k, v in e['xattrs'].items()}
            content = base64.b64decode(e['content'])
            info.size = len(content) if e['type'] == 'file' else 0
            tar.addfile(info, io.BytesIO(content) if e['type'] == 'file' else None)
    return out.getvalue()

def tree(root, entries):
    for e in entries:
        p = os.path.join(root, e['name'])
        os.makedirs(os.path.dirname(p), exist_ok=True)
        t = e['type']
        if t == 'file':
            with open(p, 'wb') as f: f.write(base64.b64decode(e['content']))
        elif t == 'directory': os.makedirs(p, exist_ok=True)
        elif t == 'symlink': os.symlink(e['linkname'], p)
        elif t == 'hardlink': os.link(os.path.join(root, e['linkname']), p)
        elif t == 'fifo': os.mkfifo(p)
        else: os.mknod(p, (0o20000 if t == 'character-device' else 0o60000) | 0o600, os.makedev(e['devmajor'], e['devminor']))
        if t in ('file', 'directory'):  # user.* xattrs: the kernel takes them on nothing else
            for k, v in e['xattrs'].items(): os.setxattr(p, k, v.encode())
        if t != 'symlink':
            if t != 'hardlink': os.chmod(p, e['mode'])
        if t != 'hardlink': os.chown(p, e['uid'], e['gid'], follow_symlinks=False)
    # Times last, deepest first: making a child changes its directory's mtime.
    for e in sorted(entries, key=lambda e: -e['name'].count('/')):
        if e['type'] != 'hardlink':
            os.utime(os.path.join(root, e['name']), ns=(int(e['mtime'] * 1e9),) * 2, follow_symlinks=False)
    return b''

for line in sys.stdin:
    req = json.loads(line)
    try:
        if req['op'] == 'write': data = write(req['format'], req['entries'])
        elif req['op'] == 'tree': data = tree(req['dir'], req['entries'])
        else: data = base64.b64decode(req['archive'])
        answer = {'archive': base64.b64encode(data).decode(), 'members': members(data) if data else []}
    except (ValueError, OSError, tarfile.TarError) as e:
        answer = {'refused': repr(e)}
    print(json.dumps(answer), flush=True)
`;

export interface TarfilePeer {
  ask(request: PeerRequest): Promise<PeerAnswer>;
  stop(): void;
}

export function startTarfilePeer(): TarfilePeer {
  const child = spawn('python3', ['-c', SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  let queue = Promise.resolve();
  return {
    ask(request) {
      // One request at a time: answers come back in order, one line each.
      const answer = queue.then(async () => {
        child.stdin!.write(`${JSON.stringify(request)}\n`);
        const line = await lines.next();
        if (line.done) throw new Error('python3 tarfile peer exited');
        return JSON.parse(line.value) as PeerAnswer;
      });
      queue = answer.then(
        () => undefined,
        () => undefined,
      );
      return answer;
    },
    stop() {
      child.stdin!.end();
    },
  };
}
