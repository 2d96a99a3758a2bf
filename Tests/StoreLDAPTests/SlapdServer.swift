import Foundation
import Glibc
import XCTest

/// A private slapd for tests, started with `deploy/ldap/start-slapd.sh` on a
/// free loopback port in a temporary folder, stopped by its PID.
final class SlapdServer: @unchecked Sendable {
    static let suffix = "dc=iec,dc=test"
    static let adminDN = "cn=admin,dc=iec,dc=test"
    static let adminPassword = "test-admin-password"

    let folder: URL
    let port: Int
    let schema: Bool
    let extraArguments: [String]
    private(set) var pid: pid_t?

    var url: String { "ldap://127.0.0.1:\(port)/" }

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// `schema: false` starts a directory without the OpenIEC schema.
    init(schema: Bool = true, extraArguments: [String] = []) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("iec-slapd-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        port = try Self.freePort()
        self.schema = schema
        self.extraArguments = extraArguments
        try start()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: folder)
    }

    func start() throws {
        var arguments = [
            "--dir", folder.path, "--port", "\(port)", "--suffix", Self.suffix, "--admin-password", Self.adminPassword,
            // Should this test process die before it stops the server, the server follows.
            "--watch-pid", "\(getpid())",
        ]
        if !schema { arguments += ["--without-iec-schema"] }
        arguments += extraArguments
        let output = try Self.run(in: folder, Self.repositoryRoot.appendingPathComponent("deploy/ldap/start-slapd.sh").path, arguments)
        guard let pid = pid_t(output.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw XCTSkip("start-slapd.sh printed no PID: \(output)")
        }
        self.pid = pid
    }

    /// SIGTERM to our slapd's PID, then waits until it is gone.
    func stop() {
        guard let pid else { return }
        self.pid = nil
        kill(pid, SIGTERM)
        for _ in 0..<200 {
            if kill(pid, 0) != 0 { break }
            usleep(25_000)
        }
        if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
        try? FileManager.default.removeItem(at: folder.appendingPathComponent("slapd.pid"))
    }

    /// Runs the script with posix_spawn and waitpid (Foundation's Process can miss
    /// the exit here), its output in files, not pipes: slapd, which it leaves
    /// running, would hold a pipe open.
    static func run(in folder: URL, _ path: String, _ arguments: [String]) throws -> String {
        let outputFile = folder.appendingPathComponent("script.out").path
        let errorFile = folder.appendingPathComponent("script.err").path
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputFile, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errorFile, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let spawned = posix_spawn(&child, path, &actions, nil, argv, environ)
        guard spawned == 0 else { throw NSError(domain: "SlapdServer", code: Int(spawned), userInfo: [NSLocalizedDescriptionKey: "cannot run \(path)"]) }
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 && errno == EINTR {}
        let output = (try? String(contentsOfFile: outputFile, encoding: .utf8)) ?? ""
        let exitCode = (status >> 8) & 0xFF
        guard status & 0x7F == 0, exitCode == 0 else {
            let errors = (try? String(contentsOfFile: errorFile, encoding: .utf8)) ?? ""
            throw NSError(domain: "SlapdServer", code: Int(exitCode), userInfo: [NSLocalizedDescriptionKey: "\(path) failed: \(errors)"])
        }
        return output
    }

    /// A port the kernel has just handed out on 127.0.0.1.
    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw NSError(domain: "SlapdServer", code: 1) }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        guard bound else { throw NSError(domain: "SlapdServer", code: 2) }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
