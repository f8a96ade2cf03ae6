//! Mount propagation modes, as Docker spells them in `-v` modes, `bind-propagation=` and
//! `docker inspect`.
//!
//! Binds default to `rprivate`, except a bind whose source contains or lies inside the daemon's
//! data-root, which gets `rslave` so the container never pins mounts the daemon must later remove.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One of the six propagation modes Docker accepts on Linux.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Propagation {
    Private,
    #[default]
    RPrivate,
    Shared,
    RShared,
    Slave,
    RSlave,
}

impl Propagation {
    pub const ALL: [Propagation; 6] = [
        Propagation::Private,
        Propagation::RPrivate,
        Propagation::Shared,
        Propagation::RShared,
        Propagation::Slave,
        Propagation::RSlave,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Propagation::Private => "private",
            Propagation::RPrivate => "rprivate",
            Propagation::Shared => "shared",
            Propagation::RShared => "rshared",
            Propagation::Slave => "slave",
            Propagation::RSlave => "rslave",
        }
    }
}

impl fmt::Display for Propagation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Not one of Docker's six propagation names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownPropagation;

impl FromStr for Propagation {
    type Err = UnknownPropagation;

    fn from_str(s: &str) -> Result<Propagation, UnknownPropagation> {
        Propagation::ALL.into_iter().find(|p| p.as_str() == s).ok_or(UnknownPropagation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_case_sensitive() {
        for p in Propagation::ALL {
            assert_eq!(p.as_str().parse::<Propagation>(), Ok(p));
        }
        for bad in ["", "RSHARED", "bogus", "rbind"] {
            assert_eq!(bad.parse::<Propagation>(), Err(UnknownPropagation), "{bad}");
        }
        assert_eq!(Propagation::default(), Propagation::RPrivate);
    }
}
