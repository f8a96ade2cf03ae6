//! Plans against captures from a real Docker daemon.
//!
//! `fixtures/ref_docker_inspect_mounts.json` holds, for each case, the mount fields the docker
//! 28.2.2 CLI put in `POST /containers/create` and the `Mounts` that dockerd 20.10 then reported in
//! `docker inspect`. Each case is planned here at API 1.41 with the same data-root, the volumes are
//! "created" the way the engine will record them, and the inspect view must equal Docker's.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use strata_mount::{
    ApiVersion, ContainerMounts, Mount, MountPlan, MountPoint, MountRequest, PlanContext, PlannedMount, api_version,
    plan_mounts,
};

const FIXTURE: &str = include_str!("fixtures/ref_docker_inspect_mounts.json");
/// The reference daemon's `--data-root`.
const REF_DATA_ROOT: &str = "/var/lib/ref-docker";
const REF_API: ApiVersion = ApiVersion::new(1, 41);

#[derive(Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    cli: String,
    request: Request,
    mounts: Vec<MountPoint>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Request {
    binds: Vec<String>,
    mounts: Vec<Mount>,
    tmpfs: BTreeMap<String, String>,
    volumes_from: Vec<String>,
    readonly_rootfs: bool,
    volume_driver: String,
    volumes: Vec<String>,
}

/// The containers created so far, by name, as the engine would store them.
struct Created(BTreeMap<String, Vec<PlannedMount>>);

impl ContainerMounts for Created {
    fn mounts_of(&self, name: &str) -> Option<Vec<PlannedMount>> {
        self.0.get(name).cloned()
    }
}

/// Every host path in the fixture existed on the reference host.
fn host(_: &Path) -> bool {
    true
}

/// Plays the engine: records each volume as Docker named it (anonymous names come from the
/// capture, since they are random), with the reference daemon's volume path.
fn create_volumes(plan: &mut MountPlan, docker: &[MountPoint]) {
    for m in &mut plan.mounts {
        if m.volume().is_none() {
            continue;
        }
        let name = match m.volume_name() {
            Some(n) => n.to_owned(),
            None => docker
                .iter()
                .find(|mp| mp.destination == m.destination)
                .map(|mp| mp.name.clone())
                .unwrap_or_else(|| panic!("Docker has no mount at {}", m.destination)),
        };
        m.set_volume(&name, "local", &format!("{REF_DATA_ROOT}/volumes/{name}/_data"));
    }
}

#[test]
fn inspect_mounts_equal_dockers() {
    let fixture: Fixture = serde_json::from_str(FIXTURE).expect("fixture");
    let mut created = Created(BTreeMap::new());
    assert!(fixture.cases.len() >= 15, "fixture lost cases");
    for case in fixture.cases {
        let req = MountRequest {
            binds: case.request.binds,
            mounts: case.request.mounts,
            tmpfs: case.request.tmpfs,
            volumes: case.request.volumes,
            image_volumes: vec![],
            volumes_from: case.request.volumes_from,
            volume_driver: case.request.volume_driver,
            readonly_rootfs: case.request.readonly_rootfs,
        };
        // dockerd 20.10 silently ignored VolumeOptions.Subpath; Docker 28 refuses it below API 1.45
        // and honours it from there, with the same inspect fields. Plan such cases at 1.45.
        let has_subpath = req.mounts.iter().any(|m| m.volume_options.as_ref().is_some_and(|vo| !vo.subpath.is_empty()));
        let api_version = if has_subpath { api_version::VOLUME_SUBPATH } else { REF_API };
        let ctx = PlanContext { api_version, daemon_root: REF_DATA_ROOT, host: &host, containers: &created };
        let mut plan = plan_mounts(&req, &ctx).unwrap_or_else(|e| panic!("{}: `{}`: {e}", case.name, case.cli));
        create_volumes(&mut plan, &case.mounts);

        let mut ours = plan.inspect_mounts();
        ours.sort_by(|a, b| a.destination.cmp(&b.destination));
        assert_eq!(ours, case.mounts, "{}: `{}`", case.name, case.cli);
        assert_eq!(plan.readonly_rootfs, req.readonly_rootfs, "{}", case.name);
        assert_eq!(plan.validate_at_start(), Ok(()), "{}", case.name);

        created.0.insert(case.name, plan.mounts);
    }
}
