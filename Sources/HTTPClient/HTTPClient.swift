internal import CCurl

/// A small synchronous HTTP/1.1 client over libcurl.
///
/// `send` blocks the calling thread until the response is complete or fails;
/// any number of threads may call it at once. Idle connections are kept and
/// reused between requests. HTTPS always verifies the certificate chain and host
/// name; only `http` and `https` are ever spoken (also on redirects).
public final class HTTPClient: Sendable {
    /// The settings shared by every request.
    public let configuration: HTTPClientConfiguration
    private let pool = EasyHandlePool()

    /// Makes a client; it holds no connection until the first `send`.
    public init(configuration: HTTPClientConfiguration = .init()) {
        self.configuration = configuration
    }

    /// Sends `request` and returns the response, whatever its status.
    ///
    /// - Throws: `HTTPClientError` when no complete response arrives: see `HTTPClientError.Code`.
    public func send(_ request: HTTPRequest) throws -> HTTPResponse {
        try perform(request)
    }

    private func perform(_ request: HTTPRequest) throws(HTTPClientError) -> HTTPResponse {
        let url = try RequestValidation.normalizedURL(request.url)
        try RequestValidation.check(request, userAgent: configuration.userAgent)
        guard CurlGlobal.ensureInitialized() else {
            throw HTTPClientError(.other, url: request.url, detail: "curl_global_init failed")
        }
        // Freed after the handle is reset (defers run in reverse), so the handle
        // never holds a dangling list pointer while it is in use.
        var headerList: UnsafeMutablePointer<curl_slist>? = nil
        defer { curl_slist_free_all(headerList) }
        guard let handle = pool.checkOut() else {
            throw HTTPClientError(.other, url: request.url, detail: "curl_easy_init failed")
        }
        defer { pool.checkIn(handle) }
        let state = TransferState(maxBodyBytes: configuration.maxResponseBytes)

        do {
            try configure(Setup(handle: handle), request: request, url: url, state: state, headerList: &headerList)
        } catch {
            let code = (error as? SetupFailure)?.curlCode ?? CURLE_FAILED_INIT
            let message = String(cString: curl_easy_strerror(code))
            throw HTTPClientError(.other, url: request.url, detail: "curl_easy_setopt failed: \(message)")
        }
        let code = withExtendedLifetime(state) { curl_easy_perform(handle.raw) }
        guard code == CURLE_OK else {
            throw Self.error(for: code, state: state, handle: handle, url: request.url)
        }
        var status = 0
        guard iec_curl_easy_getinfo_long(handle.raw, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK else {
            throw HTTPClientError(.other, url: request.url, detail: "no response code")
        }
        return HTTPResponse(status: status, headers: state.headers, body: state.body)
    }

    /// Sets every option for one transfer, checking each return code.
    private func configure(
        _ setup: Setup,
        request: HTTPRequest,
        url: String,
        state: TransferState,
        headerList: inout UnsafeMutablePointer<curl_slist>?
    ) throws {
        let isHTTPS = url.lowercased().hasPrefix("https:")
        try setup.pointer(CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(setup.handle.errorBuffer))
        try setup.string(CURLOPT_URL, url)
        // Only HTTP(S), also for redirects, and never a downgrade from HTTPS.
        try setup.string(CURLOPT_PROTOCOLS_STR, "http,https")
        try setup.string(CURLOPT_REDIR_PROTOCOLS_STR, isHTTPS ? "https" : "http,https")
        try setup.long(CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_1_1))
        try setup.long(CURLOPT_NOSIGNAL, 1)
        try setup.long(CURLOPT_TIMEOUT_MS, Self.milliseconds(request.timeout))
        try setup.long(CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(configuration.connectTimeout))
        try setup.long(CURLOPT_FOLLOWLOCATION, configuration.followRedirects ? 1 : 0)
        try setup.long(CURLOPT_MAXREDIRS, 5)
        try setup.long(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1)
        try setup.string(CURLOPT_USERAGENT, configuration.userAgent)

        // TLS: always verify the chain and the host name.
        try setup.long(CURLOPT_SSL_VERIFYPEER, 1)
        try setup.long(CURLOPT_SSL_VERIFYHOST, 2)
        if let caFile = configuration.caFile {
            try setup.string(CURLOPT_CAINFO, caFile)
        }

        // Response: body and headers into `state`; oversized bodies abort.
        let userdata = Unmanaged.passUnretained(state).toOpaque()
        try setup.off_t(CURLOPT_MAXFILESIZE_LARGE, Int64(max(0, configuration.maxResponseBytes)))
        try setup.callback(CURLOPT_WRITEFUNCTION) { buffer, size, count, userdata in
            guard let userdata else { return 0 }
            let state = Unmanaged<TransferState>.fromOpaque(userdata).takeUnretainedValue()
            let bytes = UnsafeRawBufferPointer(start: buffer, count: size * count)
            return state.receiveBody(bytes) ? size * count : 0
        }
        try setup.pointer(CURLOPT_WRITEDATA, userdata)
        try setup.callback(CURLOPT_HEADERFUNCTION) { buffer, size, count, userdata in
            guard let userdata else { return 0 }
            let state = Unmanaged<TransferState>.fromOpaque(userdata).takeUnretainedValue()
            state.receiveHeaderLine(UnsafeRawBufferPointer(start: buffer, count: size * count))
            return size * count
        }
        try setup.pointer(CURLOPT_HEADERDATA, userdata)

        // Method and body.
        let method = request.method
        let sendsBody = !request.body.isEmpty || ["POST", "PUT", "PATCH"].contains(method)
        if method == "HEAD" {
            try setup.long(CURLOPT_NOBODY, 1)
        } else if sendsBody {
            try setup.long(CURLOPT_POST, 1)
            try setup.off_t(CURLOPT_POSTFIELDSIZE_LARGE, Int64(request.body.count))
            try request.body.withUnsafeBytes { bytes in
                // COPYPOSTFIELDS copies: nothing must outlive this closure.
                let empty: StaticString = ""
                let base = bytes.baseAddress ?? UnsafeRawPointer(empty.utf8Start)
                try setup.pointer(CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: base))
            }
            if method != "POST" {
                try setup.string(CURLOPT_CUSTOMREQUEST, method)
            }
        } else {
            try setup.long(CURLOPT_HTTPGET, 1)
            if method != "GET" {
                try setup.string(CURLOPT_CUSTOMREQUEST, method)
            }
        }

        // Request headers. An empty value is written `Name;` (curl's syntax for
        // "send empty"); `Name:` removes a header curl would add by itself.
        var names = Set<String>()
        for (name, value) in request.headers {
            names.insert(name.lowercased())
            try append(value.isEmpty ? "\(name);" : "\(name): \(value)", to: &headerList)
        }
        if !names.contains("expect") {
            try append("Expect:", to: &headerList)  // no 100-continue round trip
        }
        if sendsBody && !names.contains("content-type") {
            try append("Content-Type:", to: &headerList)  // not curl's form-urlencoded
        }
        try setup.slist(CURLOPT_HTTPHEADER, headerList)
    }

    private func append(_ line: String, to list: inout UnsafeMutablePointer<curl_slist>?) throws {
        guard let extended = curl_slist_append(list, line) else {
            throw SetupFailure(curlCode: CURLE_OUT_OF_MEMORY)
        }
        list = extended
    }

    /// A `Duration` as libcurl milliseconds: at least 1 (0 would mean "no limit").
    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else {
            return 1
        }
        guard seconds < Int64(Int32.max) / 1000 else {
            return Int(Int32.max)
        }
        let milliseconds = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int(max(1, milliseconds))
    }

    /// Maps a failed transfer to an `HTTPClientError` (the only place that does).
    private static func error(
        for code: CURLcode,
        state: TransferState,
        handle: CurlEasyHandle,
        url: String
    ) -> HTTPClientError {
        // The error buffer is the more specific message; it already repeats strerror's gist.
        let detail = handle.errorMessage ?? String(cString: curl_easy_strerror(code))
        switch code {
        case CURLE_WRITE_ERROR where state.bodyLimitExceeded, CURLE_FILESIZE_EXCEEDED:
            return HTTPClientError(.responseTooLarge, url: url, detail: "limit \(state.maxBodyBytes) bytes")
        case CURLE_UNSUPPORTED_PROTOCOL:
            return HTTPClientError(.unsupportedScheme, url: url, detail: detail)
        case CURLE_URL_MALFORMAT:
            return HTTPClientError(.invalidURL, url: url, detail: detail)
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_CONNECT:
            return HTTPClientError(.connectionFailed, url: url, detail: detail)
        case CURLE_OPERATION_TIMEDOUT:
            return HTTPClientError(.timedOut, url: url, detail: detail)
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CERTPROBLEM,
             CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_CRL_BADFILE,
             CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_CIPHER,
             CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_ENGINE_INITFAILED,
             CURLE_USE_SSL_FAILED, CURLE_SSL_SHUTDOWN_FAILED:
            return HTTPClientError(.tlsFailure, url: url, detail: detail)
        default:
            return HTTPClientError(.other, url: url, detail: detail)
        }
    }
}

/// A `curl_easy_setopt` that did not return `CURLE_OK`.
struct SetupFailure: Error {
    let curlCode: CURLcode
}

/// Typed `curl_easy_setopt` calls on one handle, each checked at once.
private struct Setup {
    let handle: CurlEasyHandle

    private func check(_ code: CURLcode) throws {
        guard code == CURLE_OK else {
            throw SetupFailure(curlCode: code)
        }
    }

    func long(_ option: CURLoption, _ value: Int) throws {
        try check(iec_curl_easy_setopt_long(handle.raw, option, value))
    }

    func off_t(_ option: CURLoption, _ value: Int64) throws {
        try check(iec_curl_easy_setopt_off_t(handle.raw, option, curl_off_t(value)))
    }

    func string(_ option: CURLoption, _ value: String) throws {
        try check(iec_curl_easy_setopt_string(handle.raw, option, value))
    }

    func pointer(_ option: CURLoption, _ value: UnsafeMutableRawPointer?) throws {
        try check(iec_curl_easy_setopt_pointer(handle.raw, option, value))
    }

    func slist(_ option: CURLoption, _ value: UnsafeMutablePointer<curl_slist>?) throws {
        try check(iec_curl_easy_setopt_slist(handle.raw, option, value))
    }

    func callback(_ option: CURLoption, _ value: iec_curl_data_callback) throws {
        try check(iec_curl_easy_setopt_data_callback(handle.raw, option, value))
    }
}
