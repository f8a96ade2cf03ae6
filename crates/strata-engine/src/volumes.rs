//! The volume filters of the API turned into the volume service's selections.
//!
//! Which keys each endpoint accepts and how values parse (Docker's texts for every refusal) is
//! decided here, next to the generic [`Filters`]; what a selection *means* lives in
//! `strata_volume::filter`.

use strata_volume::{LabelTerm, ListFilter, NamePattern, PruneFilter, VolumeError};

use crate::filters::Filters;

/// The filters `GET /volumes` accepts.
pub const LIST_FILTERS: [&str; 4] = ["dangling", "driver", "label", "name"];
/// The filters `POST /volumes/prune` accepts (`dangling` is not one of them, as in Docker).
pub const PRUNE_FILTERS: [&str; 3] = ["label", "label!", "all"];

fn invalid(e: crate::filters::FilterError) -> VolumeError {
    VolumeError::InvalidFilter(e.to_string())
}

/// The selection of `GET /volumes?filters=…`.
pub fn list_filter(f: &Filters) -> Result<ListFilter, VolumeError> {
    f.validate(&LIST_FILTERS).map_err(invalid)?;
    let dangling = f.bool_value("dangling").map_err(invalid)?;
    Ok(ListFilter {
        dangling,
        drivers: f.get("driver").map(str::to_owned).collect(),
        names: f.get("name").map(NamePattern::new).collect(),
        labels: f.get("label").map(LabelTerm::parse).collect(),
    })
}

/// The selection of `POST /volumes/prune?filters=…`. `all_by_default` is true below API 1.42,
/// where prune considers named volumes too (Docker's router adds `all=true` there).
pub fn prune_filter(f: &Filters, all_by_default: bool) -> Result<PruneFilter, VolumeError> {
    f.validate(&PRUNE_FILTERS).map_err(invalid)?;
    let values: Vec<&str> = f.get("all").collect();
    let all = match values.as_slice() {
        [] => false,
        [one] => strata_mount::gocompat::parse_bool(one).ok_or_else(|| {
            VolumeError::InvalidFilter(format!(
                "invalid filter 'all': strconv.ParseBool: parsing \"{one}\": invalid syntax"
            ))
        })?,
        many => {
            return Err(VolumeError::InvalidFilter(format!(
                "invalid filter 'all=[{}]': only one value is expected",
                many.join(" ")
            )));
        }
    };
    Ok(PruneFilter {
        all: all || all_by_default,
        labels: f.get("label").map(LabelTerm::parse).collect(),
        not_labels: f.get("label!").map(LabelTerm::parse).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filters(pairs: &[(&str, &str)]) -> Filters {
        let mut f = Filters::new();
        for (k, v) in pairs {
            f.add(*k, *v);
        }
        f
    }

    /// Filter terms, and the start of the expected error (`None` when valid).
    type Case<'a> = (&'a [(&'a str, &'a str)], Option<&'a str>);

    #[test]
    fn list_filters_are_checked_with_docker_texts() {
        let cases: &[Case<'_>] = &[
            (&[("dangling", "true"), ("name", "^rv"), ("label", "a=b"), ("driver", "local")], None),
            (&[("bogus", "x")], Some("Invalid filter 'bogus'")),
            (&[("dangling", "maybe")], Some("Invalid filter 'dangling=[maybe]'")),
            (&[("label!", "x")], Some("Invalid filter 'label!'")),
            (&[("name", "(")], None),
        ];
        for (pairs, want) in cases {
            match (list_filter(&filters(pairs)), want) {
                (Ok(_), None) => {}
                (Err(e), Some(w)) => assert!(e.to_string().starts_with(w), "{pairs:?}: {e}"),
                (got, want) => panic!("{pairs:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn prune_filters_follow_the_api_version() {
        assert!(!prune_filter(&filters(&[]), false).expect("ok").all);
        assert!(prune_filter(&filters(&[]), true).expect("ok").all);
        assert!(prune_filter(&filters(&[("all", "1")]), false).expect("ok").all);
        assert!(!prune_filter(&filters(&[("all", "false")]), false).expect("ok").all);
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("dangling", "true")], "Invalid filter 'dangling'"),
            (&[("all", "true"), ("all", "false")], "invalid filter 'all=[false true]': only one value is expected"),
            (&[("all", "maybe")], "invalid filter 'all': strconv.ParseBool: parsing \"maybe\": invalid syntax"),
        ];
        for (pairs, want) in cases {
            let err = prune_filter(&filters(pairs), false).expect_err("invalid");
            assert_eq!(err.to_string(), *want);
        }
        let p = prune_filter(&filters(&[("label", "a"), ("label!", "b=c")]), false).expect("ok");
        assert_eq!(p.labels, vec![LabelTerm::parse("a")]);
        assert_eq!(p.not_labels, vec![LabelTerm::parse("b=c")]);
    }
}
