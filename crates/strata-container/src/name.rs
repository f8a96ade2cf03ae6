//! Container names: Docker's validation rule, and generated names for containers created without
//! one (`docker run` without `--name` gets something like `brave_curie`).
//!
//! The word lists are strata's own: adjectives a person would not mind, and scientists and
//! engineers whose work touched storage, filesystems and data.

/// What a container name must look like (after an optional leading `/`).
pub fn is_valid(name: &str) -> bool {
    let name = name.strip_prefix('/').unwrap_or(name);
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Docker's message for a name that fails [`is_valid`].
pub fn invalid_message(name: &str) -> String {
    format!("Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
}

const ADJECTIVES: &[&str] = &[
    "agile", "amber", "ardent", "bold", "brave", "bright", "brisk", "calm", "candid", "careful", "cheerful", "clever",
    "cosmic", "crisp", "curious", "daring", "dapper", "deft", "devoted", "eager", "earnest", "elated", "epic", "fair",
    "faithful", "fearless", "fervent", "festive", "frank", "gallant", "gentle", "glad", "golden", "graceful", "hardy",
    "hearty", "honest", "humble", "jolly", "keen", "kind", "lively", "loyal", "lucid", "merry", "mellow", "mindful",
    "modest", "nimble", "noble", "patient", "placid", "plucky", "polite", "proud", "quick", "quiet", "radiant",
    "rapid", "serene", "sharp", "sincere", "smart", "snappy", "solid", "spry", "steady", "stoic", "sturdy", "sunny",
    "swift", "tender", "thrifty", "tidy", "trusty", "upbeat", "valiant", "vivid", "warm", "wise", "witty", "zealous",
];

const SURNAMES: &[&str] = &[
    "allen",
    "babbage",
    "backus",
    "bachman",
    "bell",
    "berners_lee",
    "bloom",
    "boole",
    "cerf",
    "codd",
    "conway",
    "corbato",
    "dijkstra",
    "eckert",
    "engelbart",
    "fano",
    "feinler",
    "floyd",
    "forrester",
    "gray",
    "hamming",
    "hamilton",
    "hoare",
    "hollerith",
    "hopper",
    "huffman",
    "iverson",
    "jacobson",
    "joy",
    "kahn",
    "kay",
    "kernighan",
    "kildall",
    "knuth",
    "lamport",
    "lampson",
    "liskov",
    "lovelace",
    "mauchly",
    "mccarthy",
    "mcilroy",
    "mckusick",
    "metcalfe",
    "moore",
    "morris",
    "naur",
    "neumann",
    "noyce",
    "ousterhout",
    "perlman",
    "pike",
    "postel",
    "rabin",
    "ritchie",
    "rivest",
    "saltzer",
    "sammet",
    "shannon",
    "shamir",
    "spaerck_jones",
    "stonebraker",
    "stroustrup",
    "sutherland",
    "tanenbaum",
    "thompson",
    "torvalds",
    "turing",
    "wheeler",
    "wilkes",
    "wirth",
    "ziv",
];

/// A generated name from two indexes (the caller supplies the randomness).
pub fn generated(a: usize, b: usize) -> String {
    format!("{}_{}", ADJECTIVES[a % ADJECTIVES.len()], SURNAMES[b % SURNAMES.len()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_name_rules() {
        for ok in ["ab", "/db", "my-app_1.2", "0x", "a1"] {
            assert!(is_valid(ok), "{ok}");
        }
        for bad in ["a", "", "/", "-ab", "_ab", ".ab", "bad/name", "sp ace", "ünï", "a:b"] {
            assert!(!is_valid(bad), "{bad}");
        }
        assert_eq!(
            invalid_message("bad/name"),
            "Invalid container name (bad/name), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        );
    }

    #[test]
    fn generated_names_are_valid() {
        for a in 0..ADJECTIVES.len() {
            for b in [0, 7, SURNAMES.len() - 1] {
                let n = generated(a, b);
                assert!(is_valid(&n), "{n}");
            }
        }
    }
}
