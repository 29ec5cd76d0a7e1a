// Memory of the browser's renderer processes (Linux /proc): the sum of their proportional set
// sizes (Pss, from smaps_rollup), for every Chromium renderer descending from this Node
// process. Plugin frames are cross-site, so they live in renderer processes of their own that
// the page's own measurement APIs do not see.
import { readdirSync, readFileSync } from 'node:fs';

function read(path) {
  try { return readFileSync(path, 'utf8'); } catch { return null; }
}

/** Answers { bytes, processes } or null where /proc is missing. */
export function rendererPss(rootPid = process.pid) {
  let pids;
  try { pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number); } catch { return null; }
  const parent = new Map();
  for (const pid of pids) {
    const stat = read(`/proc/${pid}/stat`);
    if (!stat) continue;
    // pid (comm) state ppid …: comm may hold spaces and parentheses, so split after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    parent.set(pid, ppid);
  }
  const descends = (pid) => {
    for (let p = parent.get(pid), hops = 0; p && hops < 20; p = parent.get(p), hops++) if (p === rootPid) return true;
    return false;
  };
  let bytes = 0;
  let processes = 0;
  for (const pid of pids) {
    if (!descends(pid)) continue;
    const cmd = read(`/proc/${pid}/cmdline`);
    if (!cmd || !cmd.includes('--type=renderer')) continue;
    const m = (read(`/proc/${pid}/smaps_rollup`) ?? '').match(/^Pss:\s+(\d+) kB/m);
    if (!m) continue;
    bytes += Number(m[1]) * 1024;
    processes++;
  }
  return { bytes, processes };
}
