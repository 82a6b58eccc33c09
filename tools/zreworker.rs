//! zreworker: a mocked worker. A WHISPER naming a group starts a fake job:
//! the worker joins the group, shouts a few lines of job output there, then
//! `done`, and whispers `done GROUP` back to whoever asked.

use crate::failure::{Failure, Outcome};
use crate::options::{HasNodeArgs, load_settings, node_args};
use crate::printer::Printer;
use crate::runtime::{Started, start_node, stop_node, take_events};
use std::time::{Duration, Instant};
use uuid::Uuid;
use zre::{Event, Node};

/// Lines of output of one job.
const JOB_STEPS: u32 = 5;
const STEP_INTERVAL: Duration = Duration::from_millis(200);
const STEP_WORDS: [&str; JOB_STEPS as usize] = [
    "fetching sources",
    "configuring",
    "compiling",
    "running tests",
    "packaging",
];

node_args! {
    /// Mocked worker: whisper it the name of a group and it joins the group,
    /// shouts fake job output there (5 lines, 200 ms apart), then "done",
    /// and whispers "done GROUP" back.
    #[argh(example = "zreworker -n worker\n# then, in zre:  /join jobs   /whisper worker jobs")]
    pub struct ZreworkerArgs {}
}

struct Job {
    number: u64,
    group: String,
    requester: Uuid,
    /// Lines shouted so far.
    step: u32,
    next_at: Instant,
}

pub fn run(args: ZreworkerArgs) -> Outcome {
    let settings = load_settings("zreworker", &args.node_args())?;
    let Started { mut runtime, json } = start_node(&settings, |builder| builder)?;
    let mut printer = Printer::stdout_thread(json, runtime.waker())?;
    printer.ready(&runtime.node)?;
    printer.flush()?;

    let mut jobs: Vec<Job> = Vec::new();
    let mut jobs_started = 0u64;
    loop {
        let timeout = jobs
            .iter()
            .map(|job| job.next_at.saturating_duration_since(Instant::now()))
            .min();
        if runtime.poll(timeout)?.signal {
            break;
        }
        take_events(&mut runtime.node, &mut printer, |node, event| {
            if let Event::Whisper { peer, content, .. } = event {
                let request: Vec<u8> = content.concat();
                match job_group(&request) {
                    Ok(group) => {
                        jobs_started += 1;
                        start_job(node, &mut jobs, jobs_started, group, *peer)?;
                    }
                    Err(why) => {
                        log::info!("refused a job: {why}");
                        whisper(node, *peer, &format!("error: {why}"));
                    }
                }
            }
            Ok(())
        })?;
        advance_jobs(&mut runtime.node, &mut jobs)?;
    }
    stop_node(&mut runtime.node, Some(&mut printer));
    Ok(())
}

/// The group a request names: its text, trimmed; 1 to 255 bytes of UTF-8
/// with no control characters.
fn job_group(request: &[u8]) -> Result<String, String> {
    let text = std::str::from_utf8(request).map_err(|_| "the request is not UTF-8 text".to_owned())?;
    let group = text.trim();
    if group.is_empty() {
        return Err("empty request: whisper the name of a group".into());
    }
    if group.len() > 255 {
        return Err(format!("invalid group name: {} bytes, at most 255", group.len()));
    }
    if group.contains(char::is_control) {
        return Err(format!("invalid group name {group:?}: control characters"));
    }
    Ok(group.to_owned())
}

fn start_job(node: &mut Node, jobs: &mut Vec<Job>, number: u64, group: String, requester: Uuid) -> Outcome {
    log::info!("job {number}: {group} for {}", requester.simple());
    node.join(&group)?;
    jobs.push(Job {
        number,
        group,
        requester,
        step: 0,
        next_at: Instant::now() + STEP_INTERVAL,
    });
    Ok(())
}

/// Shouts the lines that are due; finishes jobs that are through.
fn advance_jobs(node: &mut Node, jobs: &mut Vec<Job>) -> Result<(), Failure> {
    let now = Instant::now();
    let mut finished = Vec::new();
    for (index, job) in jobs.iter_mut().enumerate() {
        if job.next_at > now {
            continue;
        }
        if job.step < JOB_STEPS {
            job.step += 1;
            let line = format!(
                "job {} step {}/{JOB_STEPS} {}",
                job.number,
                job.step,
                STEP_WORDS[job.step as usize - 1]
            );
            node.shout_str(&job.group, &line)?;
            job.next_at = now + STEP_INTERVAL;
        } else {
            node.shout_str(&job.group, "done")?;
            whisper(node, job.requester, &format!("done {}", job.group));
            finished.push(index);
        }
    }
    for index in finished.into_iter().rev() {
        let job = jobs.remove(index);
        // Stay in a group while another job still reports there.
        if !jobs.iter().any(|other| other.group == job.group) {
            node.leave(&job.group)?;
        }
    }
    Ok(())
}

/// A reply to a peer that may have gone meanwhile.
fn whisper(node: &mut Node, peer: Uuid, text: &str) {
    if let Err(err) = node.whisper_str(peer, text) {
        log::warn!("cannot answer {}: {err}", peer.simple());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_name_a_group() {
        assert_eq!(job_group(b" build \n"), Ok("build".to_owned()));
        assert!(job_group(b"").is_err());
        assert!(job_group(b"\xff").is_err());
        assert!(job_group(b"a\x07b").is_err());
        assert!(job_group("x".repeat(256).as_bytes()).is_err());
    }
}
