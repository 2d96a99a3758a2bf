/// Anything that answers requests: a `Router`, or a wrapper around one (middleware).
///
/// `respond` runs on one of the server's threads and may block (the store and
/// crypto below the handlers are synchronous); it must be thread-safe, since
/// several requests are answered at once. Throw `HTTPError` to answer with an
/// error status; any other error becomes a 500 and is logged.
public protocol HTTPResponder: Sendable {
    func respond(to request: HTTPServerRequest) throws -> HTTPServerResponse
}
