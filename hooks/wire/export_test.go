package wire

import "io"

// ReadBufferSize is the stream decoder's initial read buffer size.
const ReadBufferSize = readBufferSize

// DecodeRegistryWhole is the in-memory decoding the stream is held to.
var DecodeRegistryWhole = decodeRegistryWhole

// DecodeRegistryStreamStats is DecodeRegistryStream without a budget that
// also reports the read buffer's final capacity and what the summaries hold.
func DecodeRegistryStreamStats(r io.Reader) (req *RegistryRequest, bufCap int, held int64, err error) {
	d := newRegistryDecoder(r)
	req, err = d.decode()
	return req, cap(d.s.buf), d.held, err
}

// HasDuplicateKey is the tests' reference for duplicate keys
// (fastdecode_test.go).
var HasDuplicateKey = hasDuplicateKey
