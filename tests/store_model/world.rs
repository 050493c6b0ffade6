//! The world around the processes: every successor of a state (steps, crashes, ticks, a
//! wipe, a failover), and one process running alone (the liveness check).

use super::*;

impl State {
    /// Every successor: each process's steps, crashes, time passing, a wipe, a failover.
    pub(super) fn successors(&self, config: &StoreConfig) -> Result<Vec<State>, String> {
        let mut out = Vec::new();
        for p in 0..PROCS {
            for line in [Line::Issues, Line::Fails, Line::Ambiguous] {
                if line != Line::Issues && !matches!(self.procs[p].pc, Pc::Refreshing) {
                    continue;
                }
                if let Some((s, _)) = self.step(p, line, config)? {
                    out.push(s);
                }
            }
            if self.crashes < MAX_CRASHES && self.procs[p].pc != (Pc::Idle { until: None }) {
                let mut s = self.clone();
                s.crashes += 1;
                s.procs[p] = Proc {
                    pc: Pc::Idle { until: None },
                    incarnation: self.procs[p].incarnation + 1,
                };
                out.push(s);
            }
        }
        if self.time < START + HORIZON {
            let mut s = self.clone();
            s.time += TICK;
            s.check_count(config)?;
            out.push(s);
        }
        // Short-lived tokens cannot be listed: their count is only as durable as the store,
        // and nothing is promised across a wipe or a failover (the docs say so).
        let recounts = config.kind() == TokenKind::V21;
        if recounts && self.failovers < MAX_FAILOVERS {
            for (version, body) in &self.previous {
                // A replica that missed the last write, or the last two, is promoted.
                let mut s = self.clone();
                s.failovers += 1;
                s.version = *version;
                s.body = body.clone();
                s.previous.clear();
                s.commits.clear();
                out.push(s);
            }
        }
        if recounts && self.wipes < MAX_WIPES && self.body.is_some() {
            let mut s = self.clone();
            s.wipes += 1;
            s.version = 0;
            s.body = None;
            // A new store life: property 1 is per life. Across lives, versions may only come
            // back with the very same body (checked on every write, across all paths).
            s.commits.clear();
            out.push(s);
        }
        Ok(out)
    }

    /// Property 3: process `p` running alone (the others frozen wherever they are, LINE
    /// answering) serves a token within `bound` seconds of true time. Returns the time taken.
    pub(super) fn solo(&self, p: usize, config: &StoreConfig, bound: u64) -> Result<u64, String> {
        let mut s = self.clone();
        for _ in 0..200 {
            let before = format!("{:?} at {} store {:?}", s.procs[p].pc, s.time, s.body);
            match s
                .step(p, Line::Issues, config)
                .map_err(|e| format!("{e}\nafter a step from {before}"))?
            {
                Some((next, served)) => {
                    s = next;
                    if served {
                        return Ok(s.time - self.time);
                    }
                }
                None => s.time += 1,
            }
            if s.time - self.time > bound {
                break;
            }
        }
        Err(format!("process {p} alone has no token within {bound} s"))
    }
}
