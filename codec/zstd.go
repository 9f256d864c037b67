package codec

import (
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/klauspost/compress/zstd"
)

func init() { Register(zstdCodec{}) }

// maxWindow bounds the memory a stream decoder may be asked for by a
// frame header; zuulstate writes windows of at most 8 MiB.
const maxWindow = 64 << 20

type zstdCodec struct{}

func (zstdCodec) Name() string { return "zstd" }
func (zstdCodec) Ext() string  { return ".zst" }

func (zstdCodec) NewStreamReader(r io.Reader) (io.ReadCloser, error) {
	zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(2), zstd.WithDecoderMaxWindow(maxWindow))
	if err != nil {
		return nil, fmt.Errorf("start zstd: %w", err)
	}
	return zr.IOReadCloser(), nil
}

func (zstdCodec) EncodeBlock(dst, src []byte, level int) ([]byte, error) {
	e, err := ZstdEncoder(level)
	if err != nil {
		return nil, err
	}
	return e.EncodeAll(src, dst), nil
}

var (
	blockDecoderOnce sync.Once
	blockDecoder     *zstd.Decoder
	blockDecoderErr  error
)

func (zstdCodec) DecodeBlock(dst, src []byte, maxSize int) ([]byte, error) {
	blockDecoderOnce.Do(func() {
		blockDecoder, blockDecoderErr = zstd.NewReader(nil,
			zstd.WithDecoderConcurrency(runtime.GOMAXPROCS(0)),
			zstd.WithDecoderMaxWindow(maxWindow),
			zstd.WithDecoderMaxMemory(maxWindow))
	})
	if blockDecoderErr != nil {
		return nil, blockDecoderErr
	}
	// A frame says its size up front: refuse a claim beyond maxSize before
	// decoding anything, so a forged block cannot make the decoder
	// allocate more than the caller expects.
	var h zstd.Header
	if err := h.Decode(src); err == nil && h.HasFCS && h.FrameContentSize > uint64(maxSize) {
		return nil, fmt.Errorf("zstd block claims %d bytes, more than the %d recorded", h.FrameContentSize, maxSize)
	}
	start := len(dst)
	out, err := blockDecoder.DecodeAll(src, dst)
	if err != nil {
		return nil, err
	}
	if len(out)-start > maxSize {
		return nil, fmt.Errorf("zstd block decodes to %d bytes, more than the %d recorded", len(out)-start, maxSize)
	}
	return out, nil
}

var (
	encodersMu sync.Mutex
	encoders   = map[int]*zstd.Encoder{}
)

// ZstdEncoder returns the process's shared zstd encoder for level (0 means
// 3, the zstd command's default). EncodeAll on it is safe for concurrent
// use and keeps at most GOMAXPROCS states, so memory depends on the cores,
// not on how many parts are written at once.
func ZstdEncoder(level int) (*zstd.Encoder, error) {
	if level == 0 {
		level = 3
	}
	encodersMu.Lock()
	defer encodersMu.Unlock()
	if e := encoders[level]; e != nil {
		return e, nil
	}
	opts := []zstd.EOption{
		zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)),
		zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)),
		zstd.WithZeroFrames(true),
		// The frame checksum (xxhash of the raw bytes) would repeat, at 5%
		// of the CPU time, what the sha256 or chunk id already proves.
		zstd.WithEncoderCRC(false),
	}
	if level < 6 {
		// zstd's own window for levels up to 5; the library's 8 MiB default
		// costs 12 MiB more per state for 0.01% smaller output.
		opts = append(opts, zstd.WithWindowSize(2<<20))
	}
	e, err := zstd.NewWriter(nil, opts...)
	if err != nil {
		return nil, fmt.Errorf("start zstd level %d: %w", level, err)
	}
	encoders[level] = e
	return e, nil
}
