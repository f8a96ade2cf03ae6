//! What other services (the container service) do with volumes inside their own transactions:
//! get-or-create volumes, reference them, release them.
//!
//! A container and the volumes it uses must appear together or not at all, so the container
//! service creates its row and its volume rows and references in *one* transaction of its own.
//! Directories cannot be part of a SQLite transaction, so creating a volume for a container is
//! two steps:
//!
//! 1. [`Volumes::prepare`] — before the transaction: validates the requests, generates anonymous
//!    names, takes the locks of all the names (so no remove or prune can touch them until step 2
//!    is settled) and makes the directories of the volumes that do not exist yet.
//! 2. [`Prepared::commit_in`] — inside the caller's transaction: inserts the rows of the new
//!    volumes and adds a reference from the holder to each volume.
//!
//! Dropping the [`Prepared`] (after the transaction committed or rolled back, and *outside* the
//! store's lock) releases the names and deletes the directories it made for volumes whose rows
//! did not get committed, so a rolled-back container leaves nothing behind.

use strata_store::rusqlite::{Connection, Transaction};

use crate::db::{self, Volume};
use crate::error::{Op, VolumeError};
use crate::fsops;
use crate::locks::{LOCK_TIMEOUT, NameGuard};
use crate::service::{CreateRequest, Named, Plan, Volumes, check_same_driver};

/// One volume of a [`Prepared`] set.
#[derive(Debug)]
enum Entry {
    /// The volume existed when prepared.
    Existing(Volume),
    /// A new volume whose directories are made; its row is inserted by `commit_in`.
    New { plan: Plan, made_dir: bool },
}

/// Volumes ready to be created and referenced in the caller's transaction (see the module docs).
#[derive(Debug)]
pub struct Prepared<'a> {
    volumes: &'a Volumes,
    entries: Vec<Entry>,
    _guard: NameGuard<'a>,
}

impl Volumes {
    /// Step 1 of creating volumes for a holder: see the module documentation. Requests without
    /// a name become anonymous volumes (generated name, anonymous label). A named volume that
    /// exists is used as it is (its driver must match).
    pub fn prepare(&self, requests: Vec<CreateRequest>) -> Result<Prepared<'_>, VolumeError> {
        let named: Vec<Named> = requests.into_iter().map(|r| self.name_request(r)).collect::<Result<_, _>>()?;
        let names: Vec<String> = named.iter().map(|n| n.name.clone()).collect();
        let guard = self.locks.lock_all(&names, LOCK_TIMEOUT).ok_or_else(|| VolumeError::Busy {
            op: Op::Create,
            name: names.join(", "),
            secs: LOCK_TIMEOUT.as_secs(),
        })?;
        let mut prepared = Prepared { volumes: self, entries: Vec::with_capacity(named.len()), _guard: guard };
        for req in &named {
            if prepared.entries.iter().any(|e| e.name() == req.name) {
                continue;
            }
            let existing = db::get(&self.store.conn(), &self.root, &req.name)?;
            let entry = match existing {
                Some(v) => Entry::Existing(check_same_driver(v, req)?),
                None => {
                    let plan = self.plan_new(req)?;
                    let made_dir = self.make_dirs(&plan)?;
                    Entry::New { plan, made_dir }
                }
            };
            prepared.entries.push(entry);
        }
        Ok(prepared)
    }
}

impl Entry {
    fn name(&self) -> &str {
        match self {
            Entry::Existing(v) => &v.name,
            Entry::New { plan, .. } => &plan.volume.name,
        }
    }
}

impl Prepared<'_> {
    /// The names of the prepared volumes (generated ones included), in request order without
    /// duplicates.
    pub fn names(&self) -> Vec<&str> {
        self.entries.iter().map(Entry::name).collect()
    }

    /// Step 2: inside the caller's transaction, creates the rows of the new volumes and adds a
    /// reference from `holder` to every prepared volume. Returns the volumes in request order.
    pub fn commit_in(&self, tx: &Transaction<'_>, holder: &str) -> Result<Vec<Volume>, VolumeError> {
        let mut out = Vec::with_capacity(self.entries.len());
        for entry in &self.entries {
            let v = match entry {
                Entry::Existing(v) => {
                    // Locked since `prepare`: nobody can have removed it.
                    if db::get(tx, &self.volumes.root, &v.name)?.is_none() {
                        return Err(VolumeError::not_found(Op::Get, &v.name));
                    }
                    v.clone()
                }
                Entry::New { plan, .. } => {
                    db::insert(tx, &plan.volume)?;
                    plan.volume.clone()
                }
            };
            db::add_ref(tx, &v.name, holder)?;
            out.push(v);
        }
        Ok(out)
    }
}

impl Drop for Prepared<'_> {
    fn drop(&mut self) {
        let made: Vec<&str> = self
            .entries
            .iter()
            .filter_map(|e| match e {
                Entry::New { plan, made_dir: true } => Some(plan.volume.name.as_str()),
                _ => None,
            })
            .collect();
        if made.is_empty() {
            return;
        }
        let committed: Vec<bool> = {
            let conn = self.volumes.store.conn();
            made.iter().map(|n| matches!(db::get(&conn, &self.volumes.root, n), Ok(Some(_)))).collect()
        };
        for (name, committed) in made.iter().zip(committed) {
            if !committed {
                let _ = fsops::remove_tree(&self.volumes.dir_of(name));
            }
        }
    }
}

/// Adds a reference from `holder` to the existing volume `name`, in the caller's transaction.
pub fn add_reference_in(tx: &Transaction<'_>, name: &str, holder: &str) -> Result<(), VolumeError> {
    let exists: bool =
        tx.prepare_cached("SELECT EXISTS(SELECT 1 FROM volumes WHERE name = ?1)")?.query_row([name], |r| r.get(0))?;
    if !exists {
        return Err(VolumeError::not_found(Op::Get, name));
    }
    db::add_ref(tx, name, holder)?;
    Ok(())
}

/// Removes the reference from `holder` to `name`; true when there was one.
pub fn remove_reference_in(tx: &Transaction<'_>, name: &str, holder: &str) -> Result<bool, VolumeError> {
    Ok(db::remove_ref(tx, name, holder)?)
}

/// Removes every reference of `holder` (a container being removed); returns the names of the
/// volumes it referenced, sorted. The caller may then remove the anonymous ones with
/// [`Volumes::remove`] (ignoring [`VolumeError::InUse`]: another holder still uses it).
pub fn release_holder_in(tx: &Transaction<'_>, holder: &str) -> Result<Vec<String>, VolumeError> {
    Ok(db::remove_refs_of(tx, holder)?)
}

/// The holders referencing `name`, sorted (readable inside or outside a transaction).
pub fn holders_in(conn: &Connection, name: &str) -> Result<Vec<String>, VolumeError> {
    Ok(db::holders(conn, name)?)
}
