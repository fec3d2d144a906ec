//! Debian's nginx, started by a test on loopback in a folder of its own: in front of several
//! servers (tests/scaleout.rs) or serving files with Range (tests/remote.rs).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::server::free_port;

/// A running nginx; killed when dropped.
pub struct Nginx {
    child: Child,
    /// `127.0.0.1:port`.
    pub addr: String,
    dir: PathBuf,
}

impl Nginx {
    /// Starts nginx in `dir` with `http` as the body of its `http {}` block, where `LISTEN`
    /// stands for the address it listens on. Its access log, in the `upstreams` format
    /// (`upstream|cache status|status|bytes|request uri|range`), is read by [`Nginx::log`].
    pub fn start(dir: &Path, http: &str) -> Nginx {
        let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("no nginx: run scripts/test.sh (it installs Debian's nginx)");
        std::fs::create_dir_all(dir.join("cache")).unwrap();
        // Workers may run as nobody: they write the cache and their temporary files here.
        use std::os::unix::fs::PermissionsExt;
        for (d, mode) in [
            (dir.parent().unwrap(), 0o755),
            (dir, 0o777),
            (&dir.join("cache"), 0o777),
        ] {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        let addr = format!("127.0.0.1:{}", free_port());
        let d = dir.display();
        let conf = format!(
            "daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log info;
worker_processes 1;
events {{ worker_connections 512; }}
http {{
    log_format test_log '$upstream_addr|$upstream_cache_status|$status|$body_bytes_sent|$request_uri|$http_range';
    access_log {d}/access.log test_log;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
{}
}}
",
            http.replace("LISTEN", &addr)
        );
        std::fs::write(dir.join("nginx.conf"), &conf).unwrap();
        let mut child = Command::new(nginx)
            .args(["-e", &format!("{d}/error.log"), "-p", &d.to_string(), "-c"])
            .arg(dir.join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let up = super::wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
            std::net::TcpStream::connect(&addr).ok()
        });
        if up.is_some() {
            return Nginx {
                child,
                addr,
                dir: dir.to_owned(),
            };
        }
        let _ = child.kill();
        let _ = child.wait();
        let log = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
        panic!("nginx did not start: {log}\n{conf}");
    }

    /// The access log so far: one `[upstream, cache status, status, bytes, uri, range]` a
    /// request.
    pub fn log(&self) -> Vec<[String; 6]> {
        std::fs::read_to_string(self.dir.join("access.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split('|').collect();
                (f.len() == 6).then(|| std::array::from_fn(|i| f[i].to_owned()))
            })
            .collect()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
