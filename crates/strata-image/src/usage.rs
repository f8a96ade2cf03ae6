//! Disk usage of images (`system df`) and image prune.
//!
//! Nothing here walks a file system: a layer's size was recorded when it was applied, so an
//! image's size, the bytes it shares with other images and what a prune would free are all sums
//! over rows. That is what makes `docker system df` cost milliseconds here, where Docker's
//! answer grows with the number of files.

use std::collections::{BTreeMap, HashMap, HashSet};

use strata_layer::{ChainId, Digest};

use crate::Reference;
use crate::store::{DeleteItem, Image, ImageResult, ImageStore};

/// The label that keeps an object out of every prune (a strata extension).
pub const PROTECT_LABEL: &str = "strata.protect";

/// Whether labels carry `strata.protect=true` (any truthy spelling Go's `ParseBool` takes).
pub fn is_protected<'a>(mut get: impl FnMut(&str) -> Option<&'a str>) -> bool {
    matches!(get(PROTECT_LABEL), Some("1" | "t" | "T" | "true" | "TRUE" | "True"))
}

/// One image as `system df` shows it.
#[derive(Debug, Clone)]
pub struct ImageUsage {
    pub image: Image,
    /// Containers whose image this is.
    pub containers: u64,
    /// Bytes of this image's layers that other listed images also use.
    pub shared_size: u64,
}

/// The images part of `system df`.
#[derive(Debug, Clone, Default)]
pub struct ImagesUsage {
    /// Bytes of every layer some image uses, each layer once (`LayersSize`).
    pub layers_size: u64,
    pub images: Vec<ImageUsage>,
}

/// What `POST /images/prune` selects.
#[derive(Debug, Clone, Default)]
pub struct ImagePruneFilter {
    /// Only untagged images (Docker's default); `false` = every image no container uses.
    pub dangling_only: bool,
    /// Keep images created at or after this unix time.
    pub until: Option<i64>,
    /// `key` or `key=value`, all must match.
    pub labels: Vec<String>,
    /// `key` or `key=value`: an image all of them match is kept (Docker's `label!`).
    pub not_labels: Vec<String>,
}

/// An image a prune left alone, and why (a strata extension of the report).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub id: String,
    pub reason: String,
}

/// The result of an image prune.
#[derive(Debug, Clone, Default)]
pub struct ImagePruneReport {
    pub deleted: Vec<DeleteItem>,
    /// Bytes of the layers removed (or that would be, in a dry run).
    pub space_reclaimed: u64,
    pub skipped: Vec<Skipped>,
}

fn label_matches(labels: &serde_json::Map<String, serde_json::Value>, want: &str) -> bool {
    match want.split_once('=') {
        Some((k, v)) => labels.get(k).and_then(|x| x.as_str()) == Some(v),
        None => labels.contains_key(want),
    }
}

impl ImageStore {
    /// Layer chain ids of an image, bottom first.
    fn chain_ids(&self, img: &Image, layers: &HashMap<ChainId, (Option<ChainId>, u64)>) -> Vec<ChainId> {
        let mut out = Vec::new();
        let mut at = img.top_layer.clone();
        while let Some(c) = at {
            at = layers.get(&c).and_then(|(p, _)| p.clone());
            out.push(c);
        }
        out.reverse();
        out
    }

    fn layer_map(&self) -> ImageResult<HashMap<ChainId, (Option<ChainId>, u64)>> {
        Ok(self.layers().all()?.into_iter().map(|l| (l.chain_id, (l.parent, l.size))).collect())
    }

    /// `system df`'s images: every image that is tagged or has no child (Docker leaves out
    /// untagged intermediate images), with its container count (from `containers`, image id →
    /// count) and shared size.
    pub fn disk_usage(&self, containers: &HashMap<String, u64>) -> ImageResult<ImagesUsage> {
        let layers = self.layer_map()?;
        let all = self.all()?;
        let parents: HashSet<Digest> = all.iter().filter_map(|i| i.parent.clone()).collect();
        let listed: Vec<Image> = all.into_iter().filter(|i| !i.refs.is_empty() || !parents.contains(&i.id)).collect();
        let chains: Vec<Vec<ChainId>> = listed.iter().map(|i| self.chain_ids(i, &layers)).collect();
        let mut refs: HashMap<&ChainId, u32> = HashMap::new();
        for c in chains.iter().flatten() {
            *refs.entry(c).or_default() += 1;
        }
        let size = |c: &ChainId| layers.get(c).map(|(_, s)| *s).unwrap_or(0);
        let layers_size = refs.keys().map(|c| size(c)).sum();
        let mut images: Vec<ImageUsage> = listed
            .iter()
            .zip(&chains)
            .map(|(img, chain)| ImageUsage {
                image: img.clone(),
                containers: containers.get(&img.id.to_string()).copied().unwrap_or(0),
                shared_size: chain.iter().filter(|c| refs.get(c).copied().unwrap_or(0) > 1).map(size).sum(),
            })
            .collect();
        images.sort_by(|a, b| b.image.created.cmp(&a.image.created).then(a.image.id.cmp(&b.image.id)));
        Ok(ImagesUsage { layers_size, images })
    }

    /// `POST /images/prune`: removes the images `filter` selects, never one labelled
    /// `strata.protect=true`. `in_use` maps the id of each image some container uses to one such
    /// container. As in Docker, each reference of a selected image is removed as `docker rmi
    /// REF` would remove it, in the lexical order of the full names: an image in use loses every
    /// reference but the ones `rmi` refuses to take (the last, or the last repository's), and
    /// stays; an untagged image in use stays untouched. With `dry_run` nothing is removed and the
    /// report says what would be: the references, the images and the layers only they hold.
    pub fn prune(
        &self,
        filter: &ImagePruneFilter,
        in_use: &HashMap<String, String>,
        held_layers: &HashSet<ChainId>,
        dry_run: bool,
    ) -> ImageResult<ImagePruneReport> {
        let layers = self.layer_map()?;
        let all = self.all()?;
        let parents: HashSet<Digest> = all.iter().filter_map(|i| i.parent.clone()).collect();
        let mut report = ImagePruneReport::default();
        let mut chosen: Vec<(&Image, PrunePlan)> = Vec::new();
        for img in &all {
            let id = img.id.to_string();
            let tagged = img.refs.iter().any(|r| r.tag.is_some());
            // Docker's dangling prune looks at heads only (images without children).
            if filter.dangling_only && (tagged || parents.contains(&img.id)) {
                continue;
            }
            let labels = img.config.labels();
            if filter.until.is_some_and(|u| img.created >= u)
                || !filter.labels.iter().all(|l| label_matches(&labels, l))
                || (!filter.not_labels.is_empty() && filter.not_labels.iter().all(|l| label_matches(&labels, l)))
            {
                continue;
            }
            let user = in_use.get(&id);
            if user.is_some() && img.refs.is_empty() {
                report.skipped.push(Skipped { id, reason: "in use by a container".into() });
                continue;
            }
            if is_protected(|k| labels.get(k).and_then(|v| v.as_str())) {
                report.skipped.push(Skipped { id, reason: format!("protected by label {PROTECT_LABEL}=true") });
                continue;
            }
            let plan = PrunePlan::of(img, user.map(String::as_str));
            report.skipped.extend(plan.refused.iter().map(|reason| Skipped { id: id.clone(), reason: reason.clone() }));
            chosen.push((img, plan));
        }
        chosen.sort_by(|(a, _), (b, _)| b.created.cmp(&a.created).then(a.id.cmp(&b.id)));
        if dry_run {
            let going: HashSet<&Digest> = chosen.iter().filter(|(_, p)| p.deletes).map(|(i, _)| &i.id).collect();
            let mut kept: HashSet<ChainId> = held_layers.clone();
            for img in all.iter().filter(|i| !going.contains(&i.id)) {
                kept.extend(self.chain_ids(img, &layers));
            }
            // A kept layer keeps its parents.
            for c in kept.clone() {
                let mut at = layers.get(&c).and_then(|(p, _)| p.clone());
                while let Some(p) = at {
                    at = layers.get(&p).and_then(|(pp, _)| pp.clone());
                    kept.insert(p);
                }
            }
            let mut freed: BTreeMap<ChainId, u64> = BTreeMap::new();
            for (img, plan) in &chosen {
                for r in &plan.untag {
                    report.deleted.push(DeleteItem::Untagged(r.familiar()));
                }
                if !plan.deletes {
                    continue;
                }
                report.deleted.push(DeleteItem::Deleted(img.id.to_string()));
                for c in self.chain_ids(img, &layers) {
                    if !kept.contains(&c) {
                        freed.insert(c.clone(), layers.get(&c).map(|(_, s)| *s).unwrap_or(0));
                    }
                }
            }
            for (c, s) in freed {
                report.deleted.push(DeleteItem::Deleted(c.to_string()));
                report.space_reclaimed += s;
            }
            return Ok(report);
        }
        for (img, plan) in chosen {
            // By each reference, as `docker rmi` of each would: the last one deletes the image.
            let targets: Vec<String> = if img.refs.is_empty() {
                vec![img.id.to_string()]
            } else {
                plan.untag.iter().map(Reference::familiar).collect()
            };
            for target in targets {
                match self.delete(&target, false, true) {
                    Ok(items) => report.deleted.extend(items),
                    Err(e) => report.skipped.push(Skipped { id: img.id.to_string(), reason: e.to_string() }),
                }
            }
        }
        for item in &report.deleted {
            if let DeleteItem::Deleted(d) = item
                && let Ok(c) = Digest::parse(d)
                && let Some((_, s)) = layers.get(&c)
            {
                report.space_reclaimed += s;
            }
        }
        Ok(report)
    }
}

/// What a prune does to one selected image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct PrunePlan {
    /// References removed, in the order they are removed.
    untag: Vec<Reference>,
    /// Why the references that stay were refused (Docker's `rmi` conflict).
    refused: Vec<String>,
    /// Whether the image itself goes.
    deletes: bool,
}

impl PrunePlan {
    /// Docker's order and rule: references by full name; while a container (`user`) uses the
    /// image, a reference is removed only if the image keeps one in another repository, as
    /// `docker rmi REF` without force.
    fn of(img: &Image, user: Option<&str>) -> PrunePlan {
        let mut remaining = img.refs.clone();
        remaining.sort_by_key(Reference::full);
        let mut plan = PrunePlan::default();
        for r in remaining.clone() {
            let single_repo = remaining.windows(2).all(|w| w[0].name() == w[1].name());
            match user {
                Some(container) if single_repo => plan.refused.push(format!(
                    "conflict: unable to remove repository reference \"{}\" (must force) - container {} is using its referenced image {}",
                    r.familiar(),
                    &container[..container.len().min(12)],
                    img.id.short()
                )),
                _ => {
                    remaining.retain(|x| x != &r);
                    plan.untag.push(r);
                }
            }
        }
        plan.deletes = user.is_none() && remaining.is_empty();
        plan
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use strata_layer::driver::vfs::Vfs;
    use strata_layer::tarlayer::{add_file, tar_of};
    use strata_layer::{GraphDriver, LAYER_MIGRATIONS, LayerStore};
    use strata_store::Store;

    use super::*;
    use crate::store::IMAGE_MIGRATIONS;
    use crate::{ImportOptions, Reference};

    fn store(dir: &Path) -> ImageStore {
        let db = Arc::new(Store::open_in_memory(&[LAYER_MIGRATIONS, IMAGE_MIGRATIONS]).expect("db"));
        let driver: Arc<dyn GraphDriver> = Arc::new(Vfs::new(&dir.join("vfs/dir")).expect("vfs"));
        ImageStore::new(db.clone(), Arc::new(LayerStore::new(db, driver)), &dir.join("tmp"))
    }

    fn import(s: &ImageStore, content: &[u8], tag: &str, change: &str) -> Image {
        let tar = tar_of(|b| add_file(b, "f", content, 0o644));
        let opts = ImportOptions {
            tag: Some(Reference::parse_normalized(tag).expect("ref")),
            changes: vec![change.to_owned()],
            ..Default::default()
        };
        s.import(tar.as_slice(), &opts).expect("import")
    }

    #[test]
    fn shared_sizes_count_layers_used_by_several_images() {
        let t = tempfile::tempdir().expect("tempdir");
        let s = store(t.path());
        let a = import(&s, &[1; 1000], "a:1", "ENV A=1");
        let b = import(&s, &[1; 1000], "b:1", "ENV B=1");
        let c = import(&s, &[2; 300], "c:1", "ENV C=1");
        let counts = HashMap::from([(a.id.to_string(), 2)]);
        let u = s.disk_usage(&counts).expect("usage");
        assert_eq!(u.layers_size, 1300, "each layer once");
        let by_id = |id: &Digest| u.images.iter().find(|i| &i.image.id == id).expect("listed").clone();
        assert_eq!((by_id(&a.id).shared_size, by_id(&a.id).containers), (1000, 2));
        assert_eq!(by_id(&b.id).shared_size, 1000);
        assert_eq!((by_id(&c.id).shared_size, by_id(&c.id).containers), (0, 0));
    }

    const CONTAINER: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn an_image_in_use_loses_its_references_as_rmi_would_take_them() {
        let t = tempfile::tempdir().expect("tempdir");
        let s = store(t.path());
        let all = ImagePruneFilter { dangling_only: false, ..Default::default() };
        let untagged = |r: &ImagePruneReport| -> Vec<String> {
            r.deleted
                .iter()
                .filter_map(|d| match d {
                    DeleteItem::Untagged(t) => Some(t.clone()),
                    DeleteItem::Deleted(_) => None,
                })
                .collect()
        };
        // (tags, what goes, what stays): by full name, `bb-x` sorts before `bb`; the image keeps
        // the reference(s) `rmi` would refuse: the last one, or all of the last repository's.
        for (tags, gone, kept) in [
            (&["zz:1", "bb:1", "bb-x:1"][..], &["bb-x:1", "bb:1"][..], &["zz:1"][..]),
            (&["a:1", "a:2", "b:1"][..], &["a:1", "a:2"][..], &["b:1"][..]),
            (&["a:1", "b:1", "b:2"][..], &["a:1"][..], &["b:1", "b:2"][..]),
        ] {
            let img = import(&s, &[3; 100], tags[0], &format!("ENV T={}", tags.join(",")));
            for t in &tags[1..] {
                s.tag(tags[0], &Reference::parse_normalized(t).expect("ref")).expect("tag");
            }
            let in_use = HashMap::from([(img.id.to_string(), CONTAINER.to_owned())]);
            let dry = s.prune(&all, &in_use, &HashSet::new(), true).expect("dry run");
            assert_eq!(untagged(&dry), gone, "{tags:?}");
            assert!(!dry.deleted.contains(&DeleteItem::Deleted(img.id.to_string())), "in use, it stays");
            let refused: Vec<&str> =
                dry.skipped.iter().filter(|k| k.id == img.id.to_string()).map(|k| k.reason.as_str()).collect();
            assert_eq!(refused.len(), kept.len(), "{refused:?}");
            for (why, tag) in refused.iter().zip(kept) {
                assert!(
                    why.starts_with(&format!("conflict: unable to remove repository reference \"{tag}\"")),
                    "{why}"
                );
            }
            let real = s.prune(&all, &in_use, &HashSet::new(), false).expect("prune");
            assert_eq!(untagged(&real), gone, "{tags:?}");
            let left = s.get(&img.id).expect("get").expect("the image stays");
            assert_eq!(left.repo_tags(), kept, "{tags:?}");
            s.delete(&img.id.to_string(), true, true).expect("clean up");
        }
    }

    #[test]
    fn prune_frees_only_layers_no_kept_image_holds() {
        let t = tempfile::tempdir().expect("tempdir");
        let s = store(t.path());
        let a = import(&s, &[1; 1000], "a:1", "ENV A=1");
        let _b = import(&s, &[1; 1000], "b:1", "ENV B=1");
        let c = import(&s, &[2; 300], "c:1", "LABEL strata.protect=true");
        let all = ImagePruneFilter { dangling_only: false, ..Default::default() };
        let none: HashMap<String, String> = HashMap::new();
        // Nothing is dangling.
        let r = s.prune(&ImagePruneFilter { dangling_only: true, ..Default::default() }, &none, &HashSet::new(), false);
        assert!(r.expect("prune").deleted.is_empty());
        // All unused, a in use by a container: b goes but its layer stays with a; c is protected.
        let in_use = HashMap::from([(a.id.to_string(), CONTAINER.to_owned())]);
        let dry = s.prune(&all, &in_use, &HashSet::new(), true).expect("dry run");
        assert_eq!(dry.space_reclaimed, 0);
        assert_eq!(dry.deleted, vec![DeleteItem::Untagged("b:1".into()), DeleteItem::Deleted(_b.id.to_string())]);
        let reasons: Vec<&str> = dry.skipped.iter().map(|k| k.reason.as_str()).collect();
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        let refused = format!(
            "conflict: unable to remove repository reference \"a:1\" (must force) - container 0123456789ab is using its referenced image {}",
            a.id.short()
        );
        assert!(reasons.contains(&refused.as_str()), "{reasons:?}");
        assert!(reasons.contains(&"protected by label strata.protect=true"), "{reasons:?}");
        assert_eq!(s.all().expect("all").len(), 3, "a dry run removes nothing");
        let real = s.prune(&all, &in_use, &HashSet::new(), false).expect("prune");
        assert_eq!(real.deleted, dry.deleted);
        assert_eq!(real.space_reclaimed, 0);
        // Without users, a and its layer go.
        let real = s.prune(&all, &none, &HashSet::new(), false).expect("prune");
        assert_eq!(real.space_reclaimed, 1000);
        assert_eq!(s.all().expect("all").iter().map(|i| i.id.clone()).collect::<Vec<_>>(), vec![c.id]);
    }
}
