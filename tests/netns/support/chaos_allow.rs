//! The CURVE allow-lists of the chaos schedule's CURVE variant
//! (`support/chaos_run.rs`): every node has its own certificate and its
//! own `--curve-allow` directory, which holds the public certificates of
//! the others, but for a few pairs drawn from the seed that are missing at
//! start (a late allow-list entry, issue 25 fault 2). An allow-list edit
//! (`Fault::AllowEdit`) removes the certificates of some peers from a
//! node's directory; its heal puts every certificate the directory lacks
//! back, those missing at start too; the end of the schedule does that for
//! every node.
//!
//! A node re-reads its directory when a handshake or a link asks and the
//! last reading is a second old (README "Keys, CURVE mode and the
//! allow-list"): a removal binds every handshake from a second on; a peer
//! already connected stays connected. A pair is barred while either's
//! directory lacks the other (ENTER means both ways work: the refused
//! side cannot get through the owner's handshake, nor does the owner link
//! to it). So the driver records, per node instance, from which point of
//! its event log on which peers are barred to it: a `/stats` sent to it
//! 1.5 s after a removal (its `STATS` line is in its event log, in order
//! with its events), and another sent 0.3 s before the certificates come
//! back; a new instance is barred from its start.
//! [`super::chaos_check::check_refusals`] then finds any ENTER of a barred
//! peer in between.

use super::chaos_check::{Log, Refusal, check_refusals};
use super::curve::{Cert, Scratch, keygen_ours, s};
use super::netns::JsonPeer;
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

/// How long after a removal the node surely reads it (its reload interval
/// is 1 s), plus slack for a loaded machine.
const TAKES_EFFECT: Duration = Duration::from_millis(1500);
/// How long the marker before a restore has to reach the node's log first.
const MARKER_FIRST: Duration = Duration::from_millis(300);

/// Every node's certificate and allow-list directory, and what each
/// directory lacks.
pub struct AllowLists {
    /// Removed (with the directories) on drop.
    _scratch: Scratch,
    certs: Vec<Cert>,
    names: Vec<String>,
    dirs: Vec<PathBuf>,
    /// Per node: a bit per node whose certificate its directory lacks.
    lacks: Vec<u32>,
    /// Per node: what has taken effect of what its directory lacks.
    effective: Vec<u32>,
    /// Per node: the peers barred to it as recorded last.
    recorded: Vec<u32>,
    /// Removals that take effect at the instant: (when, node).
    pending: Vec<(Instant, usize)>,
    /// Per node instance (UUID): `/stats` markers sent to it.
    markers: Vec<(String, usize)>,
    /// For the checker.
    pub refusals: Vec<Refusal>,
    /// Figures: removals (edits, certificates), restores (edits,
    /// certificates), pairs refused at start.
    pub removals: (usize, usize),
    pub restores: (usize, usize),
    pub refused_at_start: usize,
}

impl AllowLists {
    /// Certificates for `names.len()` nodes (`zre --curve-keygen`, no
    /// network) and their directories; `missing` pairs (owner, peer) are
    /// left out at start.
    pub fn new(tag: &str, names: &[String], missing: &[(usize, usize)]) -> AllowLists {
        let scratch = Scratch::new(tag);
        let certs: Vec<Cert> = names
            .iter()
            .map(|name| keygen_ours(&scratch.path(&format!("{name}.cert"))))
            .collect();
        let nodes = names.len();
        let mut lacks = vec![0u32; nodes];
        for &(owner, peer) in missing {
            lacks[owner] |= 1 << peer;
        }
        let dirs: Vec<PathBuf> = (0..nodes)
            .map(|i| scratch.subdir(&format!("{}-allows", names[i])))
            .collect();
        let lists = AllowLists {
            _scratch: scratch,
            certs,
            names: names.to_vec(),
            dirs,
            effective: lacks.clone(),
            recorded: vec![0; nodes],
            lacks,
            pending: Vec::new(),
            markers: Vec::new(),
            refusals: Vec::new(),
            removals: (0, 0),
            restores: (0, 0),
            refused_at_start: missing.len(),
        };
        for owner in 0..nodes {
            for peer in (0..nodes).filter(|&p| p != owner && lists.lacks[owner] & (1 << p) == 0) {
                lists.put(owner, peer);
            }
        }
        lists
    }

    /// The options of node `i`: its certificate and its directory.
    pub fn options(&self, i: usize) -> Vec<String> {
        vec![
            "--curve-cert".into(),
            s(&self.certs[i].secret).into(),
            "--curve-allow".into(),
            s(&self.dirs[i]).into(),
        ]
    }

    /// Whether `a` and `b` can meet now (neither directory lacks the
    /// other).
    pub fn may_meet(&self, a: usize, b: usize) -> bool {
        self.lacks[a] & (1 << b) == 0 && self.lacks[b] & (1 << a) == 0
    }

    /// A new instance of node `i` reads its directory at start: the pairs
    /// barred now are barred from the start of its log.
    pub fn started(&mut self, i: usize, uuid: &str) {
        self.effective[i] = self.lacks[i];
        self.recorded[i] = self.barred(i);
        self.record(i, uuid, 0);
    }

    /// Removes the certificates of the nodes in `mask` from node `i`'s
    /// directory; the pairs are recorded as barred once the removal takes
    /// effect ([`AllowLists::due`]).
    pub fn remove(&mut self, i: usize, mask: u32, now: Instant) {
        let mut removed = 0;
        for peer in (0..self.names.len()).filter(|p| mask & (1 << p) != 0) {
            if self.lacks[i] & (1 << peer) == 0 {
                let _ = std::fs::remove_file(self.file(i, peer));
                self.lacks[i] |= 1 << peer;
                removed += 1;
            }
        }
        self.removals.0 += 1;
        self.removals.1 += removed;
        self.pending.push((now + TAKES_EFFECT, i));
    }

    /// Records the removals that took effect by `now` (markers to the
    /// running instances whose barred peers grew).
    pub fn due(&mut self, now: Instant, peers: &mut [Option<&mut JsonPeer>]) {
        let mut changed = false;
        for &(at, i) in &self.pending {
            if at <= now {
                self.effective[i] = self.lacks[i];
                changed = true;
            }
        }
        self.pending.retain(|(at, _)| *at > now);
        if changed {
            self.mark(peers);
        }
    }

    /// Puts every certificate node `i`'s directory lacks back (markers
    /// first, which the logs show before any ENTER the restore allows).
    pub fn restore(&mut self, i: usize, peers: &mut [Option<&mut JsonPeer>]) {
        self.pending.retain(|&(_, owner)| owner != i);
        if self.lacks[i] == 0 {
            return;
        }
        self.effective[i] = 0;
        if self.mark(peers) {
            thread::sleep(MARKER_FIRST);
        }
        self.put_back(i);
    }

    /// [`AllowLists::restore`] for every node, with one wait for all the
    /// markers: the end of the schedule.
    pub fn restore_all(&mut self, peers: &mut [Option<&mut JsonPeer>]) {
        self.pending.clear();
        self.effective.fill(0);
        if self.mark(peers) {
            thread::sleep(MARKER_FIRST);
        }
        for i in 0..self.names.len() {
            if self.lacks[i] != 0 {
                self.put_back(i);
            }
        }
    }

    /// The peers barred to node `k` by what took effect: those its
    /// directory lacks and those whose directories lack it.
    fn barred(&self, k: usize) -> u32 {
        let lacking_k = (0..self.names.len())
            .filter(|&j| self.effective[j] & (1 << k) != 0)
            .fold(0, |mask, j| mask | (1 << j));
        self.effective[k] | lacking_k
    }

    /// A marker to, and a record for, every running instance whose barred
    /// peers changed; whether any was sent.
    fn mark(&mut self, peers: &mut [Option<&mut JsonPeer>]) -> bool {
        let mut sent = false;
        for (k, peer) in peers.iter_mut().enumerate() {
            let barred = self.barred(k);
            if barred == self.recorded[k] {
                continue;
            }
            self.recorded[k] = barred;
            if let Some(peer) = peer.as_deref_mut() {
                let marker = self.marker(peer);
                self.record(k, &peer.uuid.clone(), marker);
                sent = true;
            }
        }
        sent
    }

    /// The refusals checked in `logs` ([`check_refusals`]): violations,
    /// and the figures (ending in "; "), with what the live instances
    /// (`peers`) logged about refused keys.
    pub fn check(&self, logs: &[Log], peers: &mut [Option<&mut JsonPeer>]) -> (Vec<String>, String) {
        let (violations, looked_at) = check_refusals(logs, &self.refusals);
        let mut said = |what: &str| -> usize {
            peers
                .iter_mut()
                .flatten()
                .map(|p| p.child().stderr().count(|l| l.contains(what)))
                .sum()
        };
        let (handshakes, links) = (said("CURVE: refused"), said("not linking to peer"));
        let figures = format!(
            "allow-list edits: {} removals ({} certificates), {} restores ({} certificates), {} pairs refused at start, \
             {looked_at} ENTERs of others checked during refusals, live nodes logged {handshakes} refused handshakes \
             and {links} refused links; ",
            self.removals.0, self.removals.1, self.restores.0, self.restores.1, self.refused_at_start,
        );
        (violations, figures)
    }

    fn put_back(&mut self, i: usize) {
        let mut put = 0;
        for peer in (0..self.names.len()).filter(|p| self.lacks[i] & (1 << p) != 0) {
            self.put(i, peer);
            put += 1;
        }
        self.lacks[i] = 0;
        self.restores.0 += 1;
        self.restores.1 += put;
    }

    /// Sends a `/stats` marker to `peer`: its ordinal among the STATS lines
    /// of that instance's log (1: the first).
    fn marker(&mut self, peer: &mut JsonPeer) -> usize {
        peer.send_line("/stats");
        match self.markers.iter_mut().find(|(uuid, _)| *uuid == peer.uuid) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                self.markers.push((peer.uuid.clone(), 1));
                1
            }
        }
    }

    fn record(&mut self, i: usize, uuid: &str, after_stats: usize) {
        let refused = (0..self.names.len())
            .filter(|p| self.recorded[i] & (1 << p) != 0)
            .map(|p| self.names[p].clone())
            .collect();
        self.refusals.push(Refusal {
            uuid: uuid.to_owned(),
            after_stats,
            refused,
        });
    }

    fn file(&self, owner: usize, peer: usize) -> PathBuf {
        self.dirs[owner].join(format!("{}.cert", self.names[peer]))
    }

    fn put(&self, owner: usize, peer: usize) {
        let to = self.file(owner, peer);
        std::fs::copy(&self.certs[peer].public, &to).unwrap_or_else(|e| {
            panic!(
                "cannot copy {} to {}: {e}",
                self.certs[peer].public.display(),
                to.display()
            )
        });
    }
}
