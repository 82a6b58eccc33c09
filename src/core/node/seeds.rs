//! Seed peers: endpoints we dial without a beacon, a gossip tuple or, in
//! the usual form, the peer's UUID (`--peer HOST:PORT`), and Zyre's
//! `zyre_require_peer` form with a known UUID.
//!
//! A seed without a UUID is dialled as a placeholder peer: an announced
//! peer under a UUID of our own making ([`NodeCore::seed_placeholder`]),
//! which gets a DEALER and our HELLO like any announced peer. The node
//! there answers with its own HELLO, whose endpoint is the seed's: the
//! relink path of [`NodeCore::require_peer`] (a HELLO from another UUID
//! than announced at the same endpoint) hands the DEALER on to the real
//! UUID, and that peer ENTERs. So the UUID is learnt from the HELLO.
//!
//! A seed whose attempt ends without a HELLO (the placeholder expires after
//! the evasive timeout, sooner than other announced peers; libzmq keeps reconnecting
//! the DEALER until then, so a node that starts during an attempt is found
//! at once) is tried again after a backoff that doubles from
//! [`SEED_RETRY_MIN`] to [`SEED_RETRY_MAX`]; that it does not answer is
//! logged once, and again only after it has answered. A seed that is up is
//! looked at every [`SEED_CHECK`]: when its peer has gone (EXIT), it is
//! dialled again at once, so that an instance restarted at that address is
//! found.
//!
//! Limitation: the seed's peer is recognised by the endpoint it gives in
//! its HELLO. A node behind NAT, or
//! one that advertises another interface's address than the one dialled,
//! is still found (our HELLO reaches it and it connects back), but the
//! seed does not know that peer is its own and dials again after each
//! backoff.

use super::*;
use crate::wire::CurveKey;
use std::net::SocketAddr;

/// How often a seed's state is looked at: whether its attempt got an
/// answer, whether its peer is still there.
pub(super) const SEED_CHECK: Duration = Duration::from_millis(500);
/// The first pause after an attempt that got no answer.
pub const SEED_RETRY_MIN: Duration = Duration::from_secs(1);
/// The longest pause between attempts at a seed that does not answer.
pub const SEED_RETRY_MAX: Duration = Duration::from_secs(30);

/// Every seed endpoint, with where it came from.
#[derive(Debug, Default)]
pub(super) struct Seeds {
    /// By endpoint.
    entries: BTreeMap<Endpoint, Seed>,
    /// Placeholder UUIDs handed out so far.
    made: u64,
}

#[derive(Debug)]
struct Seed {
    /// The names (`HOST:PORT` as the user gave it) that resolve to this
    /// endpoint; a seed is dropped when none does any more.
    origins: Vec<String>,
    /// Zyre's form: the peer's UUID is known beforehand.
    uuid: Option<Uuid>,
    /// CURVE mode: the key to connect with.
    key: Option<CurveKey>,
    state: SeedState,
    /// When to look at it next.
    due: Instant,
    /// The pause after the next attempt that gets no answer.
    backoff: Duration,
    /// Its silence was logged; its answer will be too.
    down_logged: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SeedState {
    /// To be dialled at `due`.
    Idle,
    /// Dialled as this (placeholder or known) UUID; waiting for a HELLO.
    Trying(Uuid),
    /// The peer there said HELLO.
    Up(Uuid),
}

impl Seeds {
    /// Whether any seed is set (a cheap test before `next_deadline`).
    pub(super) fn has_entries(&self) -> bool {
        !self.entries.is_empty()
    }

    /// When a seed must next be looked at.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.entries.values().map(|s| s.due).min()
    }

    /// The seed endpoints, in order.
    pub(super) fn endpoints(&self) -> impl Iterator<Item = &Endpoint> {
        self.entries.keys()
    }
}

impl NodeCore {
    /// Sets the addresses the seed `origin` (a `HOST:PORT` as given, or an
    /// endpoint) stands for now: each (`tcp://IP:PORT`, a link-local one
    /// with our scope) is dialled until a peer there says HELLO, and again
    /// after that peer goes. Call it again with what a name resolves to
    /// now; an endpoint no longer listed is no longer dialled (a peer there
    /// stays until it leaves). Our own endpoint (a name for several
    /// instances includes ours) is skipped. `key` is the CURVE key to
    /// connect with (CURVE mode), the same for every endpoint of the name.
    pub fn set_seed(&mut self, now: Instant, origin: &str, addresses: &[SocketAddr], key: Option<CurveKey>) {
        if self.stopped {
            return;
        }
        let scope = self.config.link_scope.as_ref();
        let wanted: Vec<Endpoint> = addresses
            .iter()
            .map(|a| Endpoint::from_ip(a.ip(), a.port(), scope))
            .filter(|endpoint| !self.is_own_endpoint(endpoint))
            .collect();
        // Drop this origin from the seeds it no longer resolves to.
        self.seeds.entries.retain(|endpoint, seed| {
            if seed.uuid.is_none() && !wanted.contains(endpoint) {
                seed.origins.retain(|o| o != origin);
                if seed.origins.is_empty() {
                    info!("seed {endpoint} ({origin}) no longer listed: not dialled any more");
                    return false;
                }
            }
            true
        });
        for endpoint in wanted {
            self.add_seed(now, origin, endpoint, None, key);
        }
        // New seeds are dialled at once.
        self.seeds_timeout(now);
    }

    /// Zyre's `zyre_require_peer`: connects to the peer `uuid` at
    /// `endpoint` (with its CURVE `key` in CURVE mode) as if a beacon had
    /// announced it, and keeps dialling it as a seed while it is absent.
    pub fn require_seed_peer(
        &mut self,
        now: Instant,
        uuid: Uuid,
        endpoint: &str,
        key: Option<CurveKey>,
    ) -> Result<(), CommandError> {
        self.check_command()?;
        if uuid == self.config.uuid {
            return Ok(());
        }
        let Some(endpoint) = self.peer_endpoint_of(now, endpoint) else {
            return Ok(());
        };
        if !self.is_own_endpoint(&endpoint) {
            let origin = endpoint.to_string();
            self.add_seed(now, &origin, endpoint, Some(uuid), key);
            self.seeds_timeout(now);
        }
        Ok(())
    }

    /// The links dialled for seeds that have not answered (yet).
    pub fn unanswered_seeds(&self) -> Vec<Uuid> {
        self.seeds
            .entries
            .values()
            .filter_map(|seed| match seed.state {
                SeedState::Trying(uuid) => Some(uuid),
                _ => None,
            })
            .filter(|uuid| self.peers.get(uuid).is_some_and(|p| !p.ready))
            .collect()
    }

    /// The seed endpoints being dialled or watched.
    pub fn seed_endpoints(&self) -> Vec<Endpoint> {
        self.seeds.endpoints().cloned().collect()
    }

    fn add_seed(
        &mut self,
        now: Instant,
        origin: &str,
        endpoint: Endpoint,
        uuid: Option<Uuid>,
        key: Option<CurveKey>,
    ) {
        match self.seeds.entries.get_mut(&endpoint) {
            Some(seed) => {
                if !seed.origins.iter().any(|o| o == origin) {
                    seed.origins.push(origin.to_owned());
                }
                if uuid.is_some() {
                    seed.uuid = uuid;
                }
                seed.key = key;
            }
            None => {
                debug!("seed {endpoint} ({origin}) added");
                self.seeds.entries.insert(
                    endpoint,
                    Seed {
                        origins: vec![origin.to_owned()],
                        uuid,
                        key,
                        state: SeedState::Idle,
                        due: now,
                        backoff: SEED_RETRY_MIN,
                        down_logged: false,
                    },
                );
            }
        }
    }

    /// Looks at every seed that is due: dials, notes an answer, schedules
    /// the next attempt.
    pub(super) fn seeds_timeout(&mut self, now: Instant) {
        if self.seeds.next_deadline().is_none_or(|due| due > now) {
            return;
        }
        let due: Vec<Endpoint> = self
            .seeds
            .entries
            .iter()
            .filter(|(_, s)| s.due <= now)
            .map(|(e, _)| e.clone())
            .collect();
        for endpoint in due {
            self.check_seed(now, &endpoint);
        }
    }

    fn check_seed(&mut self, now: Instant, endpoint: &Endpoint) {
        let answered = self.seed_peer(endpoint);
        let Some(seed) = self.seeds.entries.get_mut(endpoint) else {
            return;
        };
        let origin = seed.origins.first().cloned().unwrap_or_default();
        let pending = match seed.state {
            SeedState::Trying(attempt) => self.peers.contains_key(&attempt),
            _ => false,
        };
        let announced = self.peer_index.at(endpoint).next().is_some();
        let mut dial = false;
        match (seed.state, answered) {
            (_, Some(peer)) => {
                if seed.state != SeedState::Up(peer) {
                    if seed.down_logged {
                        info!("seed {endpoint} ({origin}) answers now: peer {}", peer.simple());
                    } else {
                        debug!("seed {endpoint} ({origin}) is peer {}", peer.simple());
                    }
                }
                seed.state = SeedState::Up(peer);
                seed.backoff = SEED_RETRY_MIN;
                seed.down_logged = false;
                seed.due = now + SEED_CHECK;
            }
            (SeedState::Trying(_), None) if pending => {
                // Still waiting for its HELLO (or for the attempt to expire).
                seed.due = now + SEED_CHECK;
            }
            (SeedState::Trying(_), None) => {
                // The attempt expired without a HELLO.
                if !seed.down_logged {
                    seed.down_logged = true;
                    warn!(
                        "seed {endpoint} ({origin}) does not answer; trying again with a backoff up to {SEED_RETRY_MAX:?}"
                    );
                }
                seed.state = SeedState::Idle;
                seed.due = now + seed.backoff;
                seed.backoff = (seed.backoff * 2).min(SEED_RETRY_MAX);
            }
            (SeedState::Up(peer), None) => {
                // Its peer left: dial again at once, an instance may be back.
                debug!("seed {endpoint} ({origin}): peer {} has gone", peer.simple());
                seed.state = SeedState::Idle;
                seed.backoff = SEED_RETRY_MIN;
                dial = true;
            }
            (SeedState::Idle, None) if announced => {
                // Someone announced it meanwhile and we are connecting.
                seed.due = now + SEED_CHECK;
            }
            (SeedState::Idle, None) => dial = true,
        }
        if dial {
            self.dial_seed(now, endpoint);
        }
    }

    /// The ready peer at a seed's endpoint (as its HELLO gave it). Not one
    /// at the same IP address: several nodes can share a host.
    fn seed_peer(&self, endpoint: &Endpoint) -> Option<Uuid> {
        self.peer_index
            .at(endpoint)
            .find(|uuid| self.peers.get(uuid).is_some_and(|p| p.ready))
    }

    fn dial_seed(&mut self, now: Instant, endpoint: &Endpoint) {
        let Some(seed) = self.seeds.entries.get(endpoint) else {
            return;
        };
        let (known, key) = (seed.uuid, seed.key);
        let uuid = known.unwrap_or_else(|| self.seed_placeholder());
        let new = !self.peers.contains_key(&uuid);
        let dialled = self.require_peer(now, uuid, endpoint, Evidence::Announced, key);
        // An attempt lasts the evasive timeout, not the expired time an
        // announced peer keeps its place for: libzmq reconnects meanwhile,
        // and the backoff starts sooner.
        if dialled && new {
            let until = now + self.config.evasive;
            if let Some(peer) = self.peers.get_mut(&uuid) {
                peer.expired_at = peer.expired_at.min(until);
                peer.evasive_at = peer.evasive_at.min(until);
            }
            self.schedule(uuid);
        }
        let Some(seed) = self.seeds.entries.get_mut(endpoint) else {
            return;
        };
        if dialled {
            debug!("dialling seed {endpoint} as {}", uuid.simple());
            seed.state = SeedState::Trying(uuid);
            seed.due = now + SEED_CHECK;
        } else {
            // No room, or the endpoint is set aside: later.
            seed.due = now + seed.backoff;
        }
    }

    /// A UUID for a seed we dial before we know its own: random-looking
    /// (derived from ours), never ours, different each time.
    fn seed_placeholder(&mut self) -> Uuid {
        loop {
            self.seeds.made += 1;
            let mix = (self.seeds.made as u128).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835);
            let uuid = Uuid::from_u128(self.config.uuid.as_u128().rotate_left(64) ^ mix);
            if uuid != self.config.uuid && !self.peers.contains_key(&uuid) {
                return uuid;
            }
        }
    }
}
