package zookeeper

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"

	"github.com/zuulstate/zuulstate/source/zookeeper/zktree"
)

// keyNode is one leaf under /keystorage, sent by the tree walk; done marks
// the end of a walk that completed.
type keyNode struct {
	path string
	data []byte
	done bool
}

// KeysRoot is the subtree zuul-admin export-keys exports.
const KeysRoot = "/keystorage"

// isKeyLeaf says whether zuul-admin export-keys exports n: it walks
// /keystorage and exports every node without children whose data parses
// as JSON (others are logged and left out).
func isKeyLeaf(n *zktree.Node) bool { return zktree.Under(n.Path, KeysRoot) && n.Children == 0 }

// writeKeys writes {"keys": {path: data, …}} as zuul-admin export-keys
// does (json.dump with Python's defaults), streaming: one leaf in memory.
// Zuul lists children in the server's order; here they come sorted, which
// import-keys does not care about.
func writeKeys(ctx context.Context, out io.Writer, in <-chan keyNode, log *slog.Logger) (any, error) {
	meta := zktree.KeysMeta{Format: "zuul-admin export-keys"}
	w := bufio.NewWriterSize(out, 64<<10)
	if _, err := w.WriteString(`{"keys": {`); err != nil {
		return nil, err
	}
	for {
		var k keyNode
		var ok bool
		select {
		case k, ok = <-in:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if !ok {
			return nil, errors.New("the tree walk did not complete, so the keys part is incomplete")
		}
		if k.done {
			break
		}
		js, err := pythonReencode(k.data)
		if err != nil {
			meta.Skipped = append(meta.Skipped, k.path)
			log.Warn("keys part: node data is not JSON; zuul-admin export-keys leaves it out too", "path", k.path, "error", err)
			continue
		}
		if meta.Keys > 0 {
			_, _ = w.WriteString(", ")
		}
		_, _ = w.WriteString(pythonQuote(k.path))
		_, _ = w.WriteString(": ")
		if _, err := w.Write(js); err != nil {
			return nil, err
		}
		meta.Keys++
	}
	if _, err := w.WriteString("}}"); err != nil {
		return nil, err
	}
	return meta, w.Flush()
}
