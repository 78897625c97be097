//! SIGTERM while requests are in flight: every one of them is answered, then exit 0.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use textline::privacy::MasterKey;

use crate::helpers::{TestDatabase, binary};

const IN_FLIGHT: usize = 5;

#[tokio::test]
async fn sigterm_lets_requests_in_flight_finish_and_exits_zero() {
    let database = TestDatabase::create().await;
    let (mut child, address) = start_binary(&database);
    let body = "code=not-valid&email=a%40example.org&password=a+long+passphrase\
                &password_again=a+long+passphrase";
    let (first_half, second_half) = body.split_at(body.len() / 2);
    let mut streams: Vec<TcpStream> = (0..IN_FLIGHT)
        .map(|_| {
            let mut stream = TcpStream::connect(&address).unwrap();
            let head = format!(
                "POST /setup HTTP/1.1\r\nHost: {address}\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\n\
                 Content-Length: {}\r\n\r\n{first_half}",
                body.len()
            );
            stream.write_all(head.as_bytes()).unwrap();
            stream
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));

    send_sigterm(&child);
    std::thread::sleep(Duration::from_millis(300));
    for stream in &mut streams {
        stream.write_all(second_half.as_bytes()).unwrap();
    }

    for mut stream in streams {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.1 403"), "answered: {answer:.60}");
    }
    let status = wait_for_exit(&mut child, Duration::from_secs(15));
    assert_eq!(status.code(), Some(0));
}

/// Starts `textline serve` on a free port and returns it with its address.
fn start_binary(database: &TestDatabase) -> (Child, String) {
    let mut child = Command::new(binary())
        .current_dir(database.data_dir.path())
        .env_clear()
        .envs(database.environment())
        .env("TEXTLINE_MASTER_KEY", MasterKey::generate().encode())
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let address = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| Some(line.split_once("serving on http://")?.1.trim().to_owned()))
        .expect("textline says where it serves");
    // Keep reading, so the rest of the report never meets a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, address)
}

fn send_sigterm(child: &Child) {
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: kill(2) with a pid we spawned and a valid signal number has no memory effects.
    let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(sent, 0);
}

fn wait_for_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            started.elapsed() < limit,
            "textline did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
