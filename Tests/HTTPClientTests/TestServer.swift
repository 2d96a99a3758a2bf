import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// A throw-away HTTP(S) server on 127.0.0.1: Python's `http.server`, one process per test.
///
/// Routes (any method):
/// - `/hello`: 200, `hello, world`, `Content-Type: text/plain`, `X-Test: yes`
/// - `/echo`: 200, the request body; `X-Method`, `X-Echo-Custom` (the request's `X-Custom`),
///   `X-Content-Type` and `X-Expect` (the request's, or `<none>`)
/// - `/slow?s=SECONDS`: sleeps, then 200
/// - `/big?n=N`: N bytes with `Content-Length`; `/big-chunked?n=N`: the same, chunked
/// - `/redirect`: 302 to `/hello`; `/multi`: two `Set-Cookie` fields
/// - anything else: 404
final class TestServer {
    let port: Int
    let process: Process

    private static let script = #"""
import ssl, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 65536  # one write per response (flushed after each request): no Nagle stalls
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=(), chunked=False):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(body), 4096):
                chunk = body[i:i + 4096]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

    def handle_any(self):
        url = urlparse(self.path)
        query = parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        n = int(query.get("n", ["0"])[0])
        if url.path == "/hello":
            self.reply(200, b"hello, world", [("Content-Type", "text/plain"), ("X-Test", "yes")])
        elif url.path == "/echo":
            self.reply(200, body, [
                ("X-Method", self.command),
                ("X-Echo-Custom", self.headers.get("X-Custom", "<none>")),
                ("X-Content-Type", self.headers.get("Content-Type", "<none>")),
                ("X-Expect", self.headers.get("Expect", "<none>")),
                ("X-User-Agent", self.headers.get("User-Agent", "<none>")),
            ])
        elif url.path == "/slow":
            time.sleep(float(query.get("s", ["3"])[0]))
            self.reply(200, b"late")
        elif url.path == "/big":
            self.reply(200, b"x" * n)
        elif url.path == "/big-chunked":
            self.reply(200, b"x" * n, chunked=True)
        elif url.path == "/redirect":
            self.reply(302, b"", [("Location", "/hello")])
        elif url.path == "/multi":
            self.reply(200, b"", [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")])
        else:
            self.reply(404, b"not found")

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = handle_any

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
if len(sys.argv) == 3:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[1], sys.argv[2])
    server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
"""#

    /// Starts the server (HTTPS if `tls` gives a PEM certificate and key) and waits for its port.
    init(tls: (certificate: String, key: String)? = nil) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        var arguments = ["python3", "-c", Self.script]
        if let tls {
            arguments += [tls.certificate, tls.key]
        }
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process

        var line = [UInt8]()
        while !line.contains(UInt8(ascii: "\n")) {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty {
                break  // EOF: the script died
            }
            line += data
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)),
              port > 0
        else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw TestServerError(message: "could not start the Python test server (is python3 on PATH?)")
        }
        self.port = port
    }

    /// `http://127.0.0.1:PORT` + path (or `https://` for a TLS server).
    func url(_ path: String, scheme: String = "http", host: String = "127.0.0.1") -> String {
        "\(scheme)://\(host):\(port)\(path)"
    }

    /// Kills the server by PID and reaps it.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
    }
}

struct TestServerError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// A self-signed P-256 certificate for `IP:127.0.0.1`, made with the `openssl` command.
struct TestCertificate {
    let directory: String
    var certificate: String { directory + "/cert.pem" }
    var key: String { directory + "/key.pem" }

    init() throws {
        directory = NSTemporaryDirectory() + "httpclient-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", directory + "/key.pem", "-out", directory + "/cert.pem", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw XCTSkip("openssl command not available")
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw XCTSkip("openssl could not make a test certificate")
        }
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }
}
