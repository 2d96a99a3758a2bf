import Foundation
import IECCrypto
import IECJSON
import Messaging
import XCTest

/// Our server against clients nobody here wrote: pyzmq (`.venv`) with CURVE
/// keys made by our `CurveKeyPair`, well-behaved and not.
final class PythonInteropTests: XCTestCase {
    /// `.venv/bin/python` at the repository root; skips where it is absent.
    private func python() throws -> URL {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
                let python = url.appendingPathComponent(".venv/bin/python")
                guard FileManager.default.isExecutableFile(atPath: python.path) else { break }
                return python
            }
        }
        throw XCTSkip(".venv/bin/python (with pyzmq) is absent")
    }

    /// Runs `script` with the endpoint and keys in its environment; returns its standard output.
    private func run(_ script: String, echo: EchoServer, clientKeys: CurveKeyPair) throws -> String {
        let process = Process()
        process.executableURL = try python()
        process.arguments = ["-c", script]
        var environment = ProcessInfo.processInfo.environment
        environment["IEC_ENDPOINT"] = echo.server.endpoint
        environment["IEC_SERVER_PUBLIC"] = echo.serverKeys.publicKeyZ85
        environment["IEC_CLIENT_PUBLIC"] = clientKeys.publicKeyZ85
        environment["IEC_CLIENT_SECRET"] = clientKeys.secretKeyZ85
        process.environment = environment
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "python failed:\n\(errorText)")
        return text
    }

    private static let prelude = """
        import json, os, socket, sys, zmq
        env = os.environ
        ctx = zmq.Context()
        def curve(kind, server_key=None):
            s = ctx.socket(kind)
            s.linger = 0
            s.rcvtimeo = 3000
            s.sndtimeo = 3000
            s.curve_secretkey = env["IEC_CLIENT_SECRET"].encode()
            s.curve_publickey = env["IEC_CLIENT_PUBLIC"].encode()
            s.curve_serverkey = (server_key or env["IEC_SERVER_PUBLIC"]).encode()
            s.connect(env["IEC_ENDPOINT"])
            return s

        """

    func testPyzmqClientsTalkToOurServer() throws {
        let echo = try EchoServer()
        let script = Self.prelude + """
            # DEALER with the documented envelope, [empty, payload].
            d = curve(zmq.DEALER)
            d.send_multipart([b"", json.dumps({"request_id": "py-1", "op": "ping"}).encode()])
            empty, reply = d.recv_multipart()
            assert empty == b"", empty
            print(json.dumps({"dealer": json.loads(reply)}))
            # DEALER with a bare [payload]: answered bare.
            d.send(json.dumps({"request_id": "py-2"}).encode())
            frames = d.recv_multipart()
            assert len(frames) == 1, frames
            print(json.dumps({"bare": json.loads(frames[0])}))
            # A plain REQ socket: the [empty, payload] envelope is REQ's own.
            r = curve(zmq.REQ)
            r.send(json.dumps({"request_id": "py-3"}).encode())
            print(json.dumps({"req": json.loads(r.recv())}))
            """
        let lines = try run(script, echo: echo, clientKeys: echo.clientKeys[0]).split(separator: "\n")
        XCTAssertEqual(lines.count, 3, "\(lines)")
        let replies = try lines.map { try JSONValue.parse(String($0)) }
        XCTAssertEqual(replies[0]["dealer"]?["request_id"], "py-1")
        XCTAssertEqual(replies[0]["dealer"]?["echo"]?["op"], "ping")
        XCTAssertEqual(replies[0]["dealer"]?["client_key"]?.stringValue, echo.clientKeys[0].publicKeyZ85)
        XCTAssertEqual(replies[1]["bare"]?["request_id"], "py-2")
        XCTAssertEqual(replies[2]["req"]?["request_id"], "py-3")
    }

    func testGarbageAndOversizedMessagesAreDroppedAndTheServerIsUnharmed() throws {
        let echo = try EchoServer()
        let script = Self.prelude + """
            d = curve(zmq.DEALER)
            for frames in ([b"a", b"b"], [b"", b""], [b""], [b"x", b"", b"y"], [b""] * 10, [b"", b"{}", b"extra"]):
                d.send_multipart(frames)
            # Garbage gets no answer; a good request on the same connection still does.
            d.send_multipart([b"", json.dumps({"request_id": "after-garbage"}).encode()])
            print(json.loads(d.recv_multipart()[1])["request_id"])
            # Over ZMQ_MAXMSGSIZE (256 KiB): libzmq drops the connection; nothing comes back.
            big = curve(zmq.DEALER)
            big.rcvtimeo = 300
            big.send_multipart([b"", b"{" + b" " * (300 * 1024) + b"}"])
            try:
                big.recv_multipart()
                print("oversized answered")
            except zmq.Again:
                print("oversized dropped")
            # No CURVE at all (NULL mechanism), and bytes that are not ZMTP.
            plain = ctx.socket(zmq.DEALER)
            plain.linger = 0
            plain.connect(env["IEC_ENDPOINT"])
            plain.send_multipart([b"", b"{}"], zmq.NOBLOCK)
            host, port = env["IEC_ENDPOINT"][len("tcp://"):].rsplit(":", 1)
            raw = socket.create_connection((host, int(port)))
            raw.sendall(os.urandom(4096))
            raw.close()
            print("done")
            """
        let output = try run(script, echo: echo, clientKeys: echo.clientKeys[0])
        XCTAssertEqual(output.split(separator: "\n"), ["after-garbage", "oversized dropped", "done"])

        // Each kind of garbage was logged, none crashed the server, and a good client still gets answers.
        XCTAssertNotNil(echo.waitForLine { $0.contains("message dropped") && $0.contains("empty payload") }, "\(echo.lines)")
        XCTAssertNotNil(echo.waitForLine { $0.contains("message dropped") && $0.contains("no empty delimiter") })
        XCTAssertNotNil(echo.waitForLine { $0.contains("message dropped") && $0.contains("not [payload] or [empty, payload]") })
        // A client without CURVE fails its handshake; libzmq names the cause by timing
        // ("does not use CURVE", or a broken pipe when the peer is already gone).
        XCTAssertNotNil(echo.waitForLine { $0.contains("handshake failed") }, "\(echo.lines)")
        let client = try echo.client()
        let reply = try JSONValue.parse(client.request(requestBytes("still-alive"), timeout: .seconds(5)))
        XCTAssertEqual(reply["request_id"], "still-alive")
    }
}
