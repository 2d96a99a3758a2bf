internal import CMicroHTTPD
internal import Glibc
internal import IECLog
internal import Synchronization

/// One running libmicrohttpd daemon and the C memory it uses.
///
/// Owns the daemon handle, the logger record MHD calls back through, and the
/// TLS key and certificate copies MHD reads; all freed in `deinit`, after the
/// daemon has stopped (so no callback can still use them).
///
/// `@unchecked Sendable`: the handle is only given to `MHD_quiesce_daemon` and
/// `MHD_stop_daemon`, which libmicrohttpd allows from any thread, and `stateLock`
/// makes each happen at most once.
final class MHDDaemon: @unchecked Sendable {
    let port: Int
    private let handle: OpaquePointer
    private let core: ServerCore
    private let log: MHDLogForwarder
    private let logRecord: UnsafeMutablePointer<iec_mhd_logger>
    private let tlsKey: UnsafeMutablePointer<CChar>?
    private let tlsCertificate: UnsafeMutablePointer<CChar>?
    private let stateLock = Mutex<State>(State())

    private struct State {
        var listenSocket: Int32 = -1
        var quiesced = false
        var stopped = false
    }

    private init(
        port: Int, handle: OpaquePointer, core: ServerCore, log: MHDLogForwarder,
        logRecord: UnsafeMutablePointer<iec_mhd_logger>,
        tlsKey: UnsafeMutablePointer<CChar>?, tlsCertificate: UnsafeMutablePointer<CChar>?
    ) {
        self.port = port
        self.handle = handle
        self.core = core
        self.log = log
        self.logRecord = logRecord
        self.tlsKey = tlsKey
        self.tlsCertificate = tlsCertificate
    }

    /// Starts a daemon for `configuration` whose callbacks go to `core`.
    static func start(configuration: HTTPServerConfiguration, core: ServerCore) throws(HTTPServerError) -> MHDDaemon {
        let log = MHDLogForwarder(logger: core.logger)
        let logRecord = UnsafeMutablePointer<iec_mhd_logger>.allocate(capacity: 1)
        logRecord.initialize(to: iec_mhd_logger(
            function: { context, message in
                guard let context, let message else { return }
                Unmanaged<MHDLogForwarder>.fromOpaque(context).takeUnretainedValue().receive(String(cString: message))
            },
            context: Unmanaged.passUnretained(log).toOpaque()))
        let tlsKey = configuration.tls.map { copyCString($0.keyPEM) }
        let tlsCertificate = configuration.tls.map { copyCString($0.certificatePEM) }
        var failure: Int32 = 0

        let handle: OpaquePointer? = configuration.host.withCString { host in
            var options = iec_mhd_daemon_options()
            options.host = host
            options.port = UInt16(configuration.port)
            options.thread_pool_size = UInt32(configuration.threads)
            options.connection_limit = UInt32(configuration.maxConnections)
            options.connection_timeout = UInt32(configuration.connectionTimeout)
            options.connection_memory_limit = connectionMemoryLimit(maxHeaderBytes: configuration.maxHeaderBytes)
            options.tls_key = UnsafePointer(tlsKey)
            options.tls_certificate = UnsafePointer(tlsCertificate)
            options.handler = { cls, connection, url, method, _, uploadData, uploadDataSize, slot in
                guard let cls, let connection, let uploadDataSize, let slot else { return .NO }
                return Unmanaged<ServerCore>.fromOpaque(cls).takeUnretainedValue().access(
                    connection: connection, url: url, method: method, uploadData: uploadData,
                    uploadDataSize: uploadDataSize, slot: slot)
            }
            options.completed = { cls, _, slot, _ in
                guard let cls else { return }
                Unmanaged<ServerCore>.fromOpaque(cls).takeUnretainedValue().requestCompleted(slot)
            }
            options.uri = { cls, uri, _ in
                guard let cls else { return nil }
                return Unmanaged<ServerCore>.fromOpaque(cls).takeUnretainedValue().requestStarted(uri: uri)
            }
            options.context = Unmanaged.passUnretained(core).toOpaque()
            options.logger = logRecord
            return iec_mhd_start_daemon(&options, &failure)
        }
        let messages = log.finishStartup()

        guard let handle else {
            logRecord.deinitialize(count: 1)
            logRecord.deallocate()
            freeCString(tlsKey, wipe: true)
            freeCString(tlsCertificate, wipe: false)
            throw startError(failure: failure, configuration: configuration, messages: messages)
        }
        for message in messages {
            core.logger.notice("libmicrohttpd: \(message)")
        }
        let port = Int(iec_mhd_daemon_port(handle))
        return MHDDaemon(
            port: port == 0 ? configuration.port : port, handle: handle, core: core, log: log, logRecord: logRecord,
            tlsKey: tlsKey, tlsCertificate: tlsCertificate)
    }

    /// Stops accepting connections: the listening socket refuses new ones at once,
    /// connections already open go on.
    func quiesce() {
        stateLock.withLock { state in
            guard !state.quiesced, !state.stopped else { return }
            state.quiesced = true
            let socket = MHD_quiesce_daemon(handle)
            if socket >= 0 {
                state.listenSocket = socket
                _ = iec_mhd_shutdown_listen_socket(socket)
            }
        }
    }

    /// Closes every connection and joins libmicrohttpd's threads. Must not be
    /// called from a handler (a thread cannot join itself).
    func stop() {
        stateLock.withLock { state in
            guard !state.stopped else { return }
            state.stopped = true
            MHD_stop_daemon(handle)
            if state.listenSocket >= 0 {
                _ = iec_mhd_close_socket(state.listenSocket)
                state.listenSocket = -1
            }
        }
    }

    deinit {
        stop()
        logRecord.deinitialize(count: 1)
        logRecord.deallocate()
        Self.freeCString(tlsKey, wipe: true)
        Self.freeCString(tlsCertificate, wipe: false)
    }

    // MARK: - Helpers

    /// libmicrohttpd's per-connection memory: the request line and header fields
    /// must fit in its read buffer, next to the parsed header list and the
    /// response header. Twice the header limit (and at least MHD's default 32 KiB)
    /// leaves room for all of it, so our own check answers first.
    static func connectionMemoryLimit(maxHeaderBytes: Int) -> Int {
        max(32 * 1024, 2 * maxHeaderBytes + 8 * 1024)
    }

    private static func copyCString(_ text: String) -> UnsafeMutablePointer<CChar> {
        let utf8 = Array(text.utf8)
        let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: utf8.count + 1)
        utf8.withUnsafeBytes { bytes in
            UnsafeMutableRawPointer(pointer).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        }
        pointer[utf8.count] = 0
        return pointer
    }

    private static func freeCString(_ pointer: UnsafeMutablePointer<CChar>?, wipe: Bool) {
        guard let pointer else { return }
        if wipe {
            explicit_bzero(pointer, strlen(pointer))
        }
        pointer.deallocate()
    }

    private static func startError(failure: Int32, configuration: HTTPServerConfiguration, messages: [String]) -> HTTPServerError {
        let address = configuration.host.contains(":") ? "[\(configuration.host)]:\(configuration.port)" : "\(configuration.host):\(configuration.port)"
        let detail = messages.isEmpty ? "" : " (libmicrohttpd: \(messages.joined(separator: "; ")))"
        switch Int(failure) {
        case Int(IEC_MHD_START_BAD_HOST):
            return HTTPServerError(.addressUnavailable, "host \"\(configuration.host)\" is not an IPv4 or IPv6 address literal")
        case Int(IEC_MHD_START_NO_TLS):
            return HTTPServerError(.tlsFailure, "this libmicrohttpd was built without TLS support")
        default:
            break
        }
        let bindError = configuration.host.withCString { iec_mhd_probe_bind($0, UInt16(configuration.port)) }
        switch bindError {
        case 0:
            break
        case EADDRINUSE:
            return HTTPServerError(.addressInUse, "cannot listen on \(address): the address is already in use" + detail)
        case EACCES:
            return HTTPServerError(.permissionDenied, "cannot listen on \(address): permission denied" + detail)
        case EADDRNOTAVAIL, EAFNOSUPPORT:
            return HTTPServerError(.addressUnavailable, "cannot listen on \(address): no such address on this host" + detail)
        default:
            return HTTPServerError(.startFailed, "cannot listen on \(address): \(String(cString: strerror(bindError)))" + detail)
        }
        if configuration.tls != nil {
            return HTTPServerError(.tlsFailure, "cannot start HTTPS on \(address): the certificate or key was refused" + detail)
        }
        return HTTPServerError(.startFailed, "libmicrohttpd could not start on \(address)" + detail)
    }
}

/// Receives libmicrohttpd's messages: kept for the start error while the daemon
/// starts, logged at notice level afterwards.
final class MHDLogForwarder: Sendable {
    private let logger: Logger
    private let startup = Mutex<[String]?>([])

    init(logger: Logger) {
        self.logger = logger
    }

    func receive(_ message: String) {
        let kept = startup.withLock { messages -> Bool in
            guard messages != nil else { return false }
            messages!.append(message)
            return true
        }
        if !kept {
            logger.notice("libmicrohttpd: \(message)")
        }
    }

    /// Ends the start-up phase and returns its messages.
    func finishStartup() -> [String] {
        startup.withLock { messages in
            defer { messages = nil }
            return messages ?? []
        }
    }
}
