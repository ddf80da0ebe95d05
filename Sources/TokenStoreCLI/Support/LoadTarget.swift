import TokenStore

/// The store a `load` writes to. It opens at the first line that writes, so that a dump's
/// header (the line before) can choose a new store's creation options, and input that
/// cannot be read creates no store.
final class LoadTarget {
    let path: String
    /// The options from the command line.
    let requested: StoreOptions
    /// The creation options the command line set; they win over the header's.
    let explicit: Set<String>
    private let io: ToolIO
    /// The dump's header, once read.
    var header: DumpHeader?
    private(set) var store: TokenStore?
    /// Whether opening failed (then no summary is printed: nothing was loaded).
    private(set) var openFailed = false

    init(path: String, requested: StoreOptions, explicit: Set<String>, io: ToolIO) {
        self.path = path
        self.requested = requested
        self.explicit = explicit
        self.io = io
    }

    /// The open store, opened (or created) on first use.
    func open() throws(CommandFailure) -> TokenStore {
        if let store { return store }
        var options = requested
        header?.apply(to: &options, keeping: explicit)
        let opened: TokenStore
        do { opened = try StoreAccess.open(path, options: options) } catch {
            openFailed = true
            throw error
        }
        store = opened
        // A store that existed keeps its creation options; say so when the input wanted others.
        let wanted = DumpHeader(options), actual = DumpHeader(opened.options)
        if (header != nil || !explicit.isEmpty) && wanted != actual {
            io.stderr.line(
                "tokenstore load: the store at \(path) already exists and keeps its options (\(actual.summary)); "
                    + "the input asked for \(wanted.summary)")
        }
        return opened
    }

    /// Closes the store: it checkpoints and syncs, so what was applied is durable.
    func close() throws(CommandFailure) {
        guard let store else { return }
        self.store = nil
        do { try store.close() } catch { throw .store("closing the store failed: \(error)") }
    }

    /// Closes after another failure; returns the closing failure, if any, to report as well.
    func closeAfterFailure() -> CommandFailure? {
        do throws(CommandFailure) {
            try close()
            return nil
        } catch { return error }
    }
}
