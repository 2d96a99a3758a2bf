internal import CMicroHTTPD
internal import Glibc
internal import IECLog
internal import Synchronization

/// What one request has so far: attached to libmicrohttpd's `*con_cls` by the
/// URI callback and released by the completion callback. Only the connection's
/// thread touches it.
final class RequestContext {
    enum Phase {
        /// The request line is in; the access handler has not run yet.
        case new
        /// Headers checked; the body (if any) is arriving.
        case receiving
        /// A response is queued.
        case answered
    }

    /// The request target as sent (`/path?query`).
    let target: String
    var phase = Phase.new
    var method = ""
    var headers: [(name: String, value: String)] = []
    var body: [UInt8] = []
    var bodyTooLarge = false
    /// Bytes read and dropped after the body went past the limit.
    var discardedBytes = 0
    /// Whether the in-flight gauge counts this request.
    var counted = false
    var startNanos: UInt64 = 0

    #if DEBUG
    /// Contexts alive now: lets tests check that every one is released.
    static let live = Atomic<Int>(0)
    #endif

    init(target: String) {
        self.target = target
        #if DEBUG
        Self.live.wrappingAdd(1, ordering: .relaxed)
        #endif
    }

    #if DEBUG
    deinit { Self.live.wrappingSubtract(1, ordering: .relaxed) }
    #endif
}

/// The per-request pipeline behind libmicrohttpd's callbacks: limits, request
/// building, dispatch, error mapping, the response, metrics and the access log.
final class ServerCore: Sendable {
    let responder: any HTTPResponder
    let logger: Logger
    let metrics: HTTPMetrics
    let maxBodyBytes: Int
    let maxHeaderBytes: Int
    let isSecure: Bool
    /// Peers whose `X-Forwarded-For` names the client (see ``ForwardedFor``).
    let trustedProxies: Set<String>
    /// Set by `shutdown()`: responses then carry `Connection: close`.
    let draining = Atomic<Bool>(false)
    private let requestIDs = RequestIDGenerator()

    init(configuration: HTTPServerConfiguration, responder: any HTTPResponder, logger: Logger, metrics: HTTPMetrics) {
        self.responder = responder
        self.logger = logger
        self.metrics = metrics
        self.maxBodyBytes = configuration.maxBodyBytes
        self.maxHeaderBytes = configuration.maxHeaderBytes
        self.isSecure = configuration.tls != nil
        self.trustedProxies = configuration.trustedProxies
    }

    // MARK: - libmicrohttpd callbacks (called through the closures in MHDDaemon)

    /// MHD_OPTION_URI_LOG_CALLBACK: the request line is in. From here on the
    /// request counts as in flight: libmicrohttpd reports its end through
    /// `requestCompleted` whatever happens next (also when it answers by itself,
    /// e.g. a 431 or 400, or the client goes away).
    func requestStarted(uri: UnsafePointer<CChar>?) -> UnsafeMutableRawPointer {
        let context = RequestContext(target: uri.map { String(cString: $0) } ?? "")
        context.counted = true
        metrics.requestStarted()
        return Unmanaged.passRetained(context).toOpaque()
    }

    /// MHD_OPTION_NOTIFY_COMPLETED: the request is over (answered, aborted or timed out).
    func requestCompleted(_ slot: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) {
        guard let slot, let raw = slot.pointee else { return }
        slot.pointee = nil
        let context = Unmanaged<RequestContext>.fromOpaque(raw).takeRetainedValue()
        if context.counted {
            metrics.requestFinished()
        }
    }

    /// The access handler: called once the headers are in, once per body chunk,
    /// and once more when the request is complete.
    func access(
        connection: OpaquePointer,
        url: UnsafePointer<CChar>?,
        method: UnsafePointer<CChar>?,
        uploadData: UnsafePointer<CChar>?,
        uploadDataSize: UnsafeMutablePointer<Int>,
        slot: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    ) -> MHD_Result {
        let context: RequestContext
        if let raw = slot.pointee {
            context = Unmanaged<RequestContext>.fromOpaque(raw).takeUnretainedValue()
        } else {
            // Only if libmicrohttpd skipped the URI callback; MHD's decoded URL is the best left.
            context = RequestContext(target: url.map { String(cString: $0) } ?? "/")
            context.counted = true
            metrics.requestStarted()
            slot.pointee = Unmanaged.passRetained(context).toOpaque()
        }

        switch context.phase {
        case .new:
            return headersReceived(connection, context, method: method)
        case .receiving:
            let size = uploadDataSize.pointee
            if size > 0 {
                uploadDataSize.pointee = 0
                return bodyReceived(connection, context, UnsafeRawBufferPointer(start: uploadData, count: size))
            }
            if context.bodyTooLarge {
                return answer(connection, context, bodyTooLargeError.response, requestID: requestID(for: context),
                              route: "unmatched", close: true)
            }
            return dispatch(connection, context)
        case .answered:
            uploadDataSize.pointee = 0
            return .YES
        }
    }

    // MARK: - Phases

    private var bodyTooLargeError: HTTPError {
        HTTPError(status: 413, message: "the request body is larger than \(maxBodyBytes) bytes")
    }

    private func headersReceived(_ connection: OpaquePointer, _ context: RequestContext, method: UnsafePointer<CChar>?) -> MHD_Result {
        context.phase = .receiving
        context.startNanos = monotonicNanoseconds()
        context.method = method.map { String(cString: $0) } ?? ""
        let raw = Unmanaged.passUnretained(context).toOpaque()
        _ = MHD_get_connection_values_n(connection, .HEADER_KIND, { cls, _, key, keySize, value, valueSize in
            guard let cls, let key else { return .YES }
            let context = Unmanaged<RequestContext>.fromOpaque(cls).takeUnretainedValue()
            let name = asciiLowercasedString(UnsafeRawBufferPointer(start: key, count: keySize))
            let text = value.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: valueSize), as: UTF8.self) } ?? ""
            context.headers.append((name: name, value: text))
            return .YES
        }, raw)

        let headerBytes = iec_mhd_request_header_size(connection)
        if headerBytes > maxHeaderBytes {
            let error = HTTPError(status: 431, message: "the request header is larger than \(maxHeaderBytes) bytes")
            return answer(connection, context, error.response, requestID: requestID(for: context), route: "unmatched", close: true)
        }
        if let length = contentLength(context.headers) {
            guard length <= maxBodyBytes else {
                return answer(connection, context, bodyTooLargeError.response, requestID: requestID(for: context),
                              route: "unmatched", close: true)
            }
            // Not all of it: a client could claim a large length and send nothing.
            context.body.reserveCapacity(min(length, 64 * 1024))
        }
        return .YES
    }

    /// Appends a body chunk. Past the limit (a chunked body, or one longer than
    /// its Content-Length said) the rest is read and dropped, so that the 413 can
    /// be sent once the request is complete (libmicrohttpd cannot answer in the
    /// middle of a body); a client that sends more than `discardLimit` beyond the
    /// limit is disconnected without an answer.
    private func bodyReceived(_ connection: OpaquePointer, _ context: RequestContext, _ chunk: UnsafeRawBufferPointer) -> MHD_Result {
        if context.bodyTooLarge {
            context.discardedBytes += chunk.count
            return context.discardedBytes > discardLimit ? .NO : .YES
        }
        guard context.body.count + chunk.count <= maxBodyBytes else {
            context.bodyTooLarge = true
            context.discardedBytes = context.body.count + chunk.count - maxBodyBytes
            context.body = []
            return .YES
        }
        context.body.append(contentsOf: chunk)
        return .YES
    }

    /// How much of an oversized body is read (and dropped) before the connection is cut.
    private var discardLimit: Int { max(maxBodyBytes, 1 << 20) }

    private func dispatch(_ connection: OpaquePointer, _ context: RequestContext) -> MHD_Result {
        let requestID = requestID(for: context)
        let body = context.body
        context.body = []
        let request = HTTPServerRequest(
            method: context.method, target: RequestTarget(context.target), headers: context.headers, body: body,
            remoteAddress: ForwardedFor.clientAddress(peer: clientAddress(connection), headers: context.headers, trustedProxies: trustedProxies),
            isSecure: isSecure, requestID: requestID)
        let response: HTTPServerResponse
        do {
            response = try responder.respond(to: request)
        } catch let error as HTTPError {
            response = error.response
        } catch {
            logger.error("request handler failed", [
                ("request_id", requestID), ("method", logSafe(context.method)), ("path", logSafe(request.rawPath)),
                ("error_type", String(reflecting: type(of: error))), ("error", String(describing: error)),
            ])
            response = Self.internalError
        }
        return answer(connection, context, response, requestID: requestID, route: request.route.value ?? "unmatched",
                      close: false, remoteAddress: request.remoteAddress)
    }

    private static var internalError: HTTPServerResponse {
        HTTPError(status: 500, message: "internal server error").response
    }

    /// Queues `response`, then counts and logs the request.
    private func answer(
        _ connection: OpaquePointer, _ context: RequestContext, _ response: HTTPServerResponse,
        requestID: String, route: String, close: Bool, remoteAddress: String? = nil
    ) -> MHD_Result {
        context.phase = .answered
        let close = close || draining.load(ordering: .relaxed)
        var status = response.status
        var sentBytes = response.body.count
        var handle = makeResponse(response, requestID: requestID, close: close)
        if handle == nil {
            logger.error("handler returned an invalid response", [
                ("request_id", requestID), ("path", logSafe(RequestTarget(context.target).rawPath)),
                ("status", String(response.status)),
            ])
            let fallback = Self.internalError
            status = fallback.status
            sentBytes = fallback.body.count
            handle = makeResponse(fallback, requestID: requestID, close: close)
        }
        guard let handle else { return .NO }
        let result = MHD_queue_response(connection, UInt32(status), handle)
        MHD_destroy_response(handle)

        let seconds = Double(monotonicNanoseconds() &- context.startNanos) / 1e9
        metrics.record(route: route, method: context.method, status: status, seconds: seconds)
        if logger.minimumLevel <= .info {
            if context.method == "HEAD" { sentBytes = 0 }
            logger.info("request", [
                ("method", logSafe(context.method)),
                ("path", logSafe(RequestTarget(context.target).rawPath)),
                ("status", String(status)),
                ("duration_ms", formatMilliseconds(seconds)),
                ("bytes", String(sentBytes)),
                ("remote", remoteAddress ?? clientAddress(connection)),
                ("request_id", requestID),
            ])
        }
        return result
    }

    /// An MHD response for `response`, or nil if a status or header field is invalid.
    private func makeResponse(_ response: HTTPServerResponse, requestID: String, close: Bool) -> OpaquePointer? {
        guard (100...599).contains(response.status) else { return nil }
        guard let handle = response.body.withUnsafeBytes({ iec_mhd_response_copying($0.baseAddress, $0.count) }) else {
            return nil
        }
        for field in response.headers {
            if asciiCaseInsensitiveEquals(field.name, "content-length")
                || asciiCaseInsensitiveEquals(field.name, "transfer-encoding")
                || asciiCaseInsensitiveEquals(field.name, "x-request-id")
            {
                continue
            }
            guard isHTTPToken(field.name), isHeaderValue(field.value),
                  MHD_add_response_header(handle, field.name, field.value) == .YES
            else {
                MHD_destroy_response(handle)
                return nil
            }
        }
        _ = MHD_add_response_header(handle, "X-Request-ID", requestID)
        if close && !response.headers.contains(where: { asciiCaseInsensitiveEquals($0.name, "connection") }) {
            _ = MHD_add_response_header(handle, "Connection", "close")
        }
        return handle
    }

    // MARK: - Helpers

    private func requestID(for context: RequestContext) -> String {
        for field in context.headers where field.name == "x-request-id" {
            return RequestIDGenerator.isAcceptable(field.value) ? field.value : requestIDs.next()
        }
        return requestIDs.next()
    }

    /// The `Content-Length` value if it is a plain decimal number.
    private func contentLength(_ headers: [(name: String, value: String)]) -> Int? {
        for field in headers where field.name == "content-length" {
            var value = 0
            for byte in field.value.utf8 {
                guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
                let (product, overflow1) = value.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = product.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
                if overflow1 || overflow2 { return Int.max }
                value = sum
            }
            return field.value.isEmpty ? nil : value
        }
        return nil
    }

    private func clientAddress(_ connection: OpaquePointer) -> String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer in
            let length = iec_mhd_client_address(connection, buffer.baseAddress, buffer.count)
            return length == 0 ? "" : String(decoding: UnsafeRawBufferPointer(start: buffer.baseAddress, count: length), as: UTF8.self)
        }
    }
}

/// `text` made safe for one log field: bytes outside printable ASCII, spaces,
/// quotes and `=` become `%XX`; at most 512 bytes are kept.
func logSafe(_ text: some StringProtocol) -> String {
    let utf8 = text.utf8
    let clean = utf8.count <= 512 && utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "=") }
    if clean { return String(text) }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(min(utf8.count, 512) + 16)
    let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
    for byte in utf8 {
        if bytes.count >= 512 {
            bytes += Array("...".utf8)
            break
        }
        if byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "=") {
            bytes.append(byte)
        } else {
            bytes += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// `seconds` as milliseconds with three decimals, e.g. `0.412`.
func formatMilliseconds(_ seconds: Double) -> String {
    let micros = max(0, Int((seconds * 1_000_000).rounded()))
    let fraction = micros % 1000
    let padding = fraction < 10 ? "00" : fraction < 100 ? "0" : ""
    return "\(micros / 1000).\(padding)\(fraction)"
}

func monotonicNanoseconds() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
}
