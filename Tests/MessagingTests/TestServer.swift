import Dispatch
import Foundation
import IECCrypto
import IECJSON
import IECLog
import Messaging
import XCTest

/// A real server on 127.0.0.1 (a free port) whose handler echoes each JSON
/// request from a worker thread pool, with the facts the server gave it:
/// `{"request_id", "echo", "client_key", "peer_address"}`. A request with
/// `delay_ms` is answered that much later.
final class EchoServer: @unchecked Sendable {
    let server: MessagingServer
    let sink = MemorySink()
    let serverKeys = CurveKeyPair()
    let clientKeys: [CurveKeyPair]
    private let workers = DispatchQueue(label: "echo-workers", attributes: .concurrent)

    init(
        clients: Int = 1, whitelist: [String] = ["127.0.0.1"], allowClients: Bool = true, answerInline: Bool = false,
        configure: (inout MessagingServerConfiguration) -> Void = { _ in }
    ) throws {
        clientKeys = (0..<clients).map { _ in CurveKeyPair() }
        var configuration = MessagingServerConfiguration(
            endpoint: "tcp://127.0.0.1:*", serverKeys: serverKeys,
            clientPublicKeys: allowClients ? clientKeys.map(\.publicKeyZ85) : [], whitelist: whitelist)
        configure(&configuration)
        let logger = Logger(label: "messaging", minimumLevel: .debug, sink: sink)
        let server = try MessagingServer(configuration: configuration, logger: logger)
        self.server = server
        let workers = self.workers
        try server.start { message in
            if answerInline {
                Self.answer(message, server: server)
            } else {
                workers.async { Self.answer(message, server: server) }
            }
        }
    }

    deinit { server.shutdown() }

    private static func answer(_ message: IncomingMessage, server: MessagingServer) {
        guard let request = try? JSONValue.parse(message.payload) else { return }
        if let delay = request["delay_ms"]?.int64Value { usleep(UInt32(delay) * 1000) }
        let reply: JSONValue = .object([
            "request_id": request["request_id"] ?? .null,
            "echo": request,
            "client_key": .string(message.clientPublicKey),
            "peer_address": .string(message.peerAddress),
        ])
        try? server.send(reply.serializedBytes(), to: message.peer)
    }

    /// A client connected to this server, with its key number `index` (or other keys).
    func client(_ index: Int = 0, keys: CurveKeyPair? = nil, serverKey: String? = nil, context: MessagingContext? = nil) throws
        -> MessagingClient
    {
        let client = try MessagingClient(
            keys: keys ?? clientKeys[index], serverPublicKeyZ85: serverKey ?? serverKeys.publicKeyZ85, context: context)
        try client.connect(to: server.endpoint)
        return client
    }

    /// The log lines so far.
    var lines: [String] { sink.lines }

    /// Waits until a log line satisfies `predicate`; returns it.
    func waitForLine(timeout: TimeInterval = 3, _ predicate: (String) -> Bool) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            if let line = sink.lines.first(where: predicate) { return line }
            usleep(10_000)
        } while Date() < deadline
        return nil
    }
}

/// A JSON request with `request_id`.
func requestBytes(_ id: String, _ members: [String: JSONValue] = [:]) -> [UInt8] {
    var object = members
    object["request_id"] = .string(id)
    return JSONValue.object(object).serializedBytes()
}

func parse(_ bytes: [UInt8]) throws -> JSONValue { try JSONValue.parse(bytes) }

func XCTAssertThrowsMessagingError<T>(
    _ code: MessagingError.Code, _ expression: @autoclosure () throws -> T, file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertThrowsError(try expression(), file: file, line: line) { error in
        XCTAssertEqual((error as? MessagingError)?.code, code, "\(error)", file: file, line: line)
    }
}
