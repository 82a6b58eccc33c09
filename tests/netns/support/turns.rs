//! Whether a lab may run beside others. The namespace tests share one
//! binary, so cargo runs any two of them at once; a test that loads the
//! CPU on purpose (two busy loops per host, as under a loaded machine)
//! must not do so beside another test's timing (an election, a TTL): it
//! runs alone. Every other lab shares its turn with the rest.
//!
//! No writer preference: a lab that shares may start while one that runs
//! alone waits, so a test that makes two labs never waits on itself.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

#[derive(Default)]
struct Turns {
    shared: usize,
    alone: bool,
}

static TURNS: Mutex<Turns> = Mutex::new(Turns {
    shared: 0,
    alone: false,
});
static CHANGED: Condvar = Condvar::new();

fn turns() -> MutexGuard<'static, Turns> {
    // A test that panicked while holding it changed nothing half-way.
    TURNS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A lab's turn, held while the lab lives.
pub struct Turn {
    alone: bool,
}

impl Turn {
    /// Waits for a turn: `alone`, until no other lab lives; else until no
    /// lab that runs alone lives.
    pub fn take(alone: bool) -> Turn {
        let mut t = turns();
        while t.alone || (alone && t.shared > 0) {
            t = CHANGED.wait(t).unwrap_or_else(PoisonError::into_inner);
        }
        if alone {
            t.alone = true;
        } else {
            t.shared += 1;
        }
        Turn { alone }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let mut t = turns();
        if self.alone {
            t.alone = false;
        } else {
            t.shared -= 1;
        }
        drop(t);
        CHANGED.notify_all();
    }
}
