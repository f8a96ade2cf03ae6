//! Times `apply` of a generated ~300 MB tar with mixed file sizes against the host's `tar -x`,
//! then reassembly from the tar-split and packing of the extracted tree.
//!
//! ```text
//! cargo run --release -p strata-archive --example apply_bench -- [WORKDIR] [MB] [RUNS]
//! ```
//!
//! Every run extracts into a fresh directory and nothing is deleted until the end: on ext4
//! without a journal, file creation slows down for minutes after a mass delete, which would
//! punish whichever extractor runs next. Runs alternate the order of the two extractors, with a
//! `sync` and a pause before each timed step.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use strata_archive::{ApplyOptions, PackOptions, apply, pack, reassemble};

const DEFAULT_MB: u64 = 300;
const DEFAULT_RUNS: usize = 3;
const PAUSE: Duration = Duration::from_secs(5);
const FILES_PER_DIR: u64 = 200;
const MB: f64 = 1_000_000.0;

/// A small deterministic generator (xorshift64*), so every run packs the same archive.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// File sizes shaped like a distribution image: mostly small files, a few large ones.
    fn file_size(&mut self) -> u64 {
        match self.next() % 1000 {
            0..=699 => self.next() % 4096,
            700..=949 => 4096 + self.next() % (60 * 1024),
            950..=998 => 64 * 1024 + self.next() % (960 * 1024),
            _ => (1 << 20) + self.next() % (15 << 20),
        }
    }
}

fn generate(path: &Path, target_bytes: u64) -> anyhow::Result<(u64, u64)> {
    let mut builder = tar::Builder::new(BufWriter::with_capacity(1 << 20, File::create(path)?));
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let mut data = vec![0u8; 24 << 20];
    for chunk in data.chunks_mut(8) {
        let word = rng.next().to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
    let (mut total, mut files) = (0u64, 0u64);
    while total < target_bytes {
        let dir = format!("usr/share/d{:04}/", files / FILES_PER_DIR);
        if files % FILES_PER_DIR == 0 {
            let mut header = tar::Header::new_ustar();
            header.set_entry_type(tar::EntryType::Directory);
            header.set_mode(0o755);
            header.set_mtime(1_700_000_000);
            header.set_size(0);
            builder.append_data(&mut header, &dir, std::io::empty())?;
        }
        let size = rng.file_size();
        let offset = usize::try_from(rng.next() % (8 << 20))?;
        let mut header = tar::Header::new_ustar();
        header.set_mode(0o644);
        header.set_mtime(1_700_000_000);
        header.set_uid(1000);
        header.set_gid(1000);
        header.set_size(size);
        let contents = &data[offset..offset + usize::try_from(size)?];
        builder.append_data(&mut header, format!("{dir}file-{files:06}"), contents)?;
        total += size;
        files += 1;
    }
    builder.into_inner()?.flush()?;
    Ok((files, total))
}

fn settle() {
    let _ = Command::new("sync").status();
    std::thread::sleep(PAUSE);
}

fn rate(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / MB / elapsed.as_secs_f64()
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let work = PathBuf::from(args.next().unwrap_or_else(|| "/var/tmp/strata-apply-bench".to_owned()));
    let mb: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(DEFAULT_MB);
    let runs: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(DEFAULT_RUNS);
    fs::create_dir_all(&work)?;
    let tarball = work.join("bench.tar");
    let (files, content) = generate(&tarball, mb * 1_000_000)?;
    let stream = fs::metadata(&tarball)?.len();
    println!("archive: {} files, {:.0} MB contents, {:.0} MB stream", files, content as f64 / MB, stream as f64 / MB);
    // Read the archive once so both extractors start from the page cache.
    std::io::copy(&mut File::open(&tarball)?, &mut std::io::sink())?;

    let mut results: Vec<(&str, f64)> = Vec::new();
    for run in 0..runs {
        let ours_dir = work.join(format!("strata-{run}"));
        let host_dir = work.join(format!("tar-{run}"));
        fs::create_dir(&ours_dir)?;
        fs::create_dir(&host_dir)?;
        let order: [bool; 2] = if run % 2 == 0 { [true, false] } else { [false, true] };
        for ours in order {
            settle();
            if ours {
                let start = Instant::now();
                let report = apply(File::open(&tarball)?, &ours_dir, &ApplyOptions::default())?;
                let elapsed = start.elapsed();
                results.push(("strata apply", rate(stream, elapsed)));
                println!("run {run}: strata apply   {:7.1} MB/s ({:.2?})", rate(stream, elapsed), elapsed);
                settle();
                let start = Instant::now();
                let rebuilt = reassemble(report.tar_split.as_ref().expect("tar-split"), &ours_dir, std::io::sink())?;
                let elapsed = start.elapsed();
                anyhow::ensure!(Some(rebuilt.digest) == report.diff_id, "reassembly digest differs");
                results.push(("reassemble", rate(stream, elapsed)));
                println!("run {run}: reassemble     {:7.1} MB/s ({:.2?})", rate(stream, elapsed), elapsed);
                let start = Instant::now();
                let packed = pack(&ours_dir, &PackOptions::default(), std::io::sink())?;
                let elapsed = start.elapsed();
                results.push(("pack", rate(packed.stream_len, elapsed)));
                println!("run {run}: pack           {:7.1} MB/s ({:.2?})", rate(packed.stream_len, elapsed), elapsed);
                println!(
                    "        tar-split record: {} KB encoded, for {} entries",
                    report.tar_split.as_ref().map_or(Ok(Vec::new()), |t| t.encode())?.len() / 1000,
                    report.entries
                );
            } else {
                let start = Instant::now();
                let status = Command::new("tar").arg("-xf").arg(&tarball).arg("-C").arg(&host_dir).status()?;
                let elapsed = start.elapsed();
                anyhow::ensure!(status.success(), "tar -x failed");
                results.push(("host tar -x", rate(stream, elapsed)));
                println!("run {run}: host tar -x    {:7.1} MB/s ({:.2?})", rate(stream, elapsed), elapsed);
            }
        }
    }
    println!("\nmedian over {runs} runs (MB/s of tar stream):");
    for name in ["strata apply", "host tar -x", "reassemble", "pack"] {
        let mut rates: Vec<f64> = results.iter().filter(|(n, _)| *n == name).map(|(_, r)| *r).collect();
        rates.sort_by(f64::total_cmp);
        if let Some(median) = rates.get(rates.len() / 2) {
            println!("  {name:<14} {median:7.1}   (all: {rates:.1?})");
        }
    }
    fs::remove_dir_all(&work)?;
    Ok(())
}
