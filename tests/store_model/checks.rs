//! The invariants, checked on every write and every tick: fenced versions, the shared
//! token's expiry, tokens served before their real expiry, LINE's live tokens within what
//! the code promises (the budget; for short-lived tokens' slack, LINE's limit) and every one
//! of them counted.

use super::*;

impl State {
    /// Applies `write` if the store holds its expected version; checks the invariants.
    pub(super) fn cas(
        &mut self,
        write: &Write,
        config: &StoreConfig,
        commit: bool,
    ) -> Result<bool, String> {
        thread_local! {
            /// Every version any explored path wrote, with a hash of its body (property 1),
            /// kept across paths: stronger than per path, and no ghost state to explore.
            static VERSIONS: std::cell::RefCell<std::collections::HashMap<u64, u64>> = Default::default();
        }
        if self.version != write.expected_version() {
            return Ok(false);
        }
        let new = write.new_version();
        let body_hash = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            write.body().hash(&mut h);
            h.finish()
        };
        // A version may only come back with the very same body (after a wipe): then a write
        // fenced on it applies to exactly what its writer read.
        let clash = VERSIONS.with(|v| *v.borrow_mut().entry(new).or_insert(body_hash) != body_hash);
        if new == self.version || clash {
            return Err(format!("version {new} comes back with another body"));
        }
        if commit {
            if self.commits.contains(&write.expected_version()) {
                return Err(format!(
                    "two commits on version {}",
                    write.expected_version()
                ));
            }
            self.commits.push(write.expected_version());
        }
        let before = self.read(1, config);
        let after = write.record();
        if let (Some(old), Some(new_token)) = (before.token(), after.token()) {
            if new_token.expires_at < old.expires_at {
                return Err("the shared token's expiry went backwards".into());
            }
        }
        if before.token().is_some() && after.token().is_none() {
            return Err("a write dropped the shared token".into());
        }
        self.previous.push((self.version, self.body.clone()));
        if self.previous.len() > LOST_WRITES {
            self.previous.remove(0);
        }
        self.version = new;
        self.body = Some(write.body());
        self.check_count(config)?;
        Ok(true)
    }

    /// Tokens LINE holds that have not expired, in true time.
    pub(super) fn live(&self) -> impl Iterator<Item = (usize, &(u64, OwnerId, bool))> {
        self.tokens
            .iter()
            .enumerate()
            .filter(|(_, (expiry, _, _))| *expiry > self.time)
    }

    /// Properties 4 and 5: LINE never holds more live tokens than the code promises (v2.1:
    /// the budget; short-lived: the budget for tokens a caller may have been handed, LINE's
    /// own limit for all), and the record lists every live token or counts it tentatively
    /// for the process that asked for it (unless it says its count is uncertain: new, wiped,
    /// or taken over before a listing).
    pub(super) fn check_count(&self, config: &StoreConfig) -> Result<(), String> {
        let budget = config.budget().unwrap_or(usize::MAX);
        let live = self.live().count();
        let handed = self.live().filter(|(_, (_, _, handed))| *handed).count();
        if handed > budget {
            return Err(format!(
                "{handed} tokens a caller may hold live at LINE, budget {budget}"
            ));
        }
        // The slack when down lets the fleet issue past the budget while tokens of failed
        // calls (never handed out) count: for short-lived tokens, up to LINE's limit. v2.1
        // recounts by listing before every issuance: within the budget.
        let limit = match config.kind() {
            TokenKind::V21 => budget,
            kind => kind.max_active().unwrap_or(usize::MAX),
        };
        if live > limit {
            return Err(format!(
                "{live} tokens live at LINE, at most {limit} promised"
            ));
        }
        let record = self.read_at(UnixTime::from_secs(self.time), config);
        if record.is_uncertain() {
            return Ok(());
        }
        // Per process: its live tokens the record does not list <= its tentative entries.
        let mut unlisted: HashMap<OwnerId, (usize, usize)> = HashMap::new();
        for (id, (_, owner, _)) in self.live() {
            let kid = format!("k{id}");
            if !record
                .issued()
                .iter()
                .any(|e| e.key_id.as_deref() == Some(kid.as_str()))
            {
                unlisted.entry(*owner).or_default().0 += 1;
            }
        }
        for e in record.issued() {
            if let Some(owner) = e.tentative {
                unlisted.entry(owner).or_default().1 += 1;
            }
        }
        match unlisted.iter().find(|(_, (live, counted))| live > counted) {
            Some((owner, (live, counted))) => Err(format!(
                "{live} live tokens of {owner} unlisted, {counted} counted tentatively"
            )),
            None => Ok(()),
        }
    }

    /// The property checked whenever a process serves a token.
    pub(super) fn check_served(&self, token: &str) -> Result<(), String> {
        let id: usize = token
            .trim_start_matches('t')
            .parse()
            .map_err(|_| "foreign token")?;
        let (expiry, _, _) = self.tokens.get(id).ok_or("unknown token")?;
        if self.time >= *expiry {
            return Err(format!(
                "token {id} served at {} past its expiry {expiry}",
                self.time
            ));
        }
        Ok(())
    }
}
