internal import CCurl
internal import Synchronization

/// libcurl's process-wide initialisation, run exactly once on first use.
///
/// A `static let` is initialised lazily and thread-safely (swift_once), which
/// gives `curl_global_init` the "once, before any other call" it needs.
enum CurlGlobal {
    /// The `CURLcode` raw value returned by `curl_global_init`.
    private static let initResult: UInt32 = iec_curl_global_init_default().rawValue

    /// Runs `curl_global_init` on first call; afterwards only reports how it went.
    static func ensureInitialized() -> Bool {
        initResult == CURLE_OK.rawValue
    }
}

/// Owns one libcurl easy handle (`CURL *`) and its error buffer; frees both in `deinit`.
///
/// `@unchecked Sendable`: the handle is used by one thread at a time. It moves
/// between threads only through `EasyHandlePool`, whose mutex orders the hand-over.
final class CurlEasyHandle: @unchecked Sendable {
    /// The `CURL *`. Never leaves the module.
    let raw: UnsafeMutableRawPointer
    /// `CURLOPT_ERRORBUFFER` storage, `CURL_ERROR_SIZE` bytes.
    let errorBuffer: UnsafeMutablePointer<CChar>

    /// Makes a fresh handle, or nil if libcurl cannot (out of memory).
    init?() {
        guard let raw = curl_easy_init() else {
            return nil
        }
        self.raw = raw
        self.errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        self.errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
    }

    deinit {
        curl_easy_cleanup(raw)
        errorBuffer.deallocate()
    }

    /// Clears every option (so no pointer set for the last transfer stays behind)
    /// while keeping the connection, DNS and TLS session caches for the next one.
    func reset() {
        curl_easy_reset(raw)
        errorBuffer[0] = 0
    }

    /// libcurl's detailed message for the last failure, if it wrote one.
    var errorMessage: String? {
        errorBuffer[Int(CURL_ERROR_SIZE) - 1] = 0
        let message = String(cString: errorBuffer)
        return message.isEmpty ? nil : message
    }
}

/// A small mutex-guarded pool of idle easy handles, so that consecutive requests
/// reuse keep-alive connections and TLS sessions.
final class EasyHandlePool: Sendable {
    private let idle = Mutex<[CurlEasyHandle]>([])
    private let maxIdle: Int

    init(maxIdle: Int = 8) {
        self.maxIdle = maxIdle
    }

    /// An idle handle, or a new one; nil only if libcurl cannot allocate one.
    func checkOut() -> CurlEasyHandle? {
        if let handle = idle.withLock({ $0.popLast() }) {
            return handle
        }
        return CurlEasyHandle()
    }

    /// Resets `handle` and keeps it for reuse (or frees it if the pool is full).
    func checkIn(_ handle: CurlEasyHandle) {
        handle.reset()
        let extra: CurlEasyHandle? = idle.withLock { handles in
            guard handles.count < maxIdle else {
                return handle
            }
            handles.append(handle)
            return nil
        }
        _ = extra  // freed here, outside the lock
    }
}

/// What the libcurl callbacks collect during one transfer. Reached from C through
/// the callbacks' `userdata` pointer (`Unmanaged`); touched by one thread only.
final class TransferState {
    let maxBodyBytes: Int
    var body: [UInt8] = []
    var headers: [(name: String, value: String)] = []
    /// True after the blank line ending a header block (later lines are trailers).
    var headerBlockEnded = false
    /// True if the write callback refused data because of `maxBodyBytes`.
    var bodyLimitExceeded = false

    init(maxBodyBytes: Int) {
        self.maxBodyBytes = max(0, maxBodyBytes)
    }

    /// Handles one body chunk; false means abort the transfer.
    func receiveBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count <= maxBodyBytes - body.count else {
            bodyLimitExceeded = true
            return false
        }
        body.append(contentsOf: bytes)
        return true
    }

    /// Handles one header line as libcurl delivers it (a whole line with its CRLF).
    func receiveHeaderLine(_ bytes: UnsafeRawBufferPointer) {
        // Strip the line end as bytes: in Swift "\r\n" is one Character.
        var end = bytes.endIndex
        while end > bytes.startIndex, bytes[end - 1] == 0x0D || bytes[end - 1] == 0x0A {
            end -= 1
        }
        let line = Substring(String(decoding: bytes[..<end], as: UTF8.self))
        if line.hasPrefix("HTTP/") {
            // A new status line: an interim (1xx) or redirect response came before.
            headers.removeAll()
            headerBlockEnded = false
            return
        }
        if line.isEmpty {
            headerBlockEnded = true
            return
        }
        guard !headerBlockEnded else {
            return  // trailer fields after a chunked body: ignored
        }
        if let first = line.first, first == " " || first == "\t", !headers.isEmpty {
            // Obsolete line folding (RFC 9112 §5.2): continue the previous value.
            headers[headers.count - 1].value += " " + Self.trimmed(line)
            return
        }
        guard let colon = line.firstIndex(of: ":") else {
            return
        }
        let name = Self.trimmed(line[..<colon])
        guard !name.isEmpty else {
            return
        }
        headers.append((name: name, value: Self.trimmed(line[line.index(after: colon)...])))
    }

    private static func trimmed(_ text: Substring) -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = text.firstIndex(where: { !isSpace($0) }),
              let end = text.lastIndex(where: { !isSpace($0) })
        else {
            return ""
        }
        return String(text[start...end])
    }
}
