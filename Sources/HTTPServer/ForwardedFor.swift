/// The client's address behind reverse proxies (nginx in front of several
/// iec-am instances), from `X-Forwarded-For`, so that per-address rate limits
/// count clients and not the proxy.
///
/// The header is believed only as far as it was written by proxies we trust:
/// starting from the peer of the TCP connection, each hop that is a trusted
/// proxy hands over to the address it appended (the rightmost one left). The
/// first untrusted hop is the client. A client can put anything at the left
/// end of the header, which is why it is read from the right.
public enum ForwardedFor {
    /// At most this many hops are looked at; a longer header is cut from the left.
    static let maximumHops = 16

    static func clientAddress(peer: String, headers: [(name: String, value: String)], trustedProxies: Set<String>) -> String {
        guard !trustedProxies.isEmpty, trustedProxies.contains(peer) else { return peer }
        var hops: [Substring] = []
        for field in headers where asciiCaseInsensitiveEquals(field.name, "x-forwarded-for") {
            hops.append(contentsOf: field.value.split(separator: ",", omittingEmptySubsequences: true))
        }
        var client = peer
        for hop in hops.suffix(maximumHops).reversed() {
            let address = hop.trimmingSpaces()
            guard isAddressLiteral(address) else { return client }
            client = String(address)
            if !trustedProxies.contains(client) { return client }
        }
        return client
    }

    /// An IPv4 or IPv6 literal's characters, bounded: anything else is not believed.
    public static func isAddressLiteral(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.count <= 45
            && text.utf8.allSatisfy { byte in
                (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
                    || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "F")) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":")
            }
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return text
    }
}
