//! `docker cp` throughput without a daemon: `get ROOTFS PATH` writes the archive of PATH (as
//! `GET /containers/{id}/archive` would) to stdout; `put ROOTFS PATH` extracts stdin into PATH
//! (as `PUT`). Used by `bench/cp.sh` against host `tar -c` / `tar -x`.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use strata_fsview::{ContainerView, ExtractOptions, extract, prepare_archive};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, mode, rootfs, path] = args.as_slice() else {
        anyhow::bail!("usage: cp_throughput get|put ROOTFS PATH");
    };
    let view = ContainerView { rootfs: PathBuf::from(rootfs), readonly_rootfs: false, mounts: Vec::new() };
    match mode.as_str() {
        "get" => {
            let out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
            let len = prepare_archive(&view, path)?.write_to(out)?;
            std::io::stderr().flush()?;
            eprintln!("{len} bytes");
        }
        "put" => extract(&view, path, std::io::stdin().lock(), &ExtractOptions::default())?,
        other => anyhow::bail!("unknown mode {other}"),
    }
    Ok(())
}
