package x509cert

import (
	"reflect"
	"testing"
)

func TestParseXFCC(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []XFCCElement
	}{
		{
			name: "envoy doc example",
			in:   `By=http://frontend.lyft.com;Hash=468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688;Subject="/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client";URI=http://testclient.lyft.com;DNS=lyft.com;DNS=www.lyft.com`,
			want: []XFCCElement{{
				By:      []string{"http://frontend.lyft.com"},
				Hash:    "468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688",
				Subject: "/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client",
				URI:     []string{"http://testclient.lyft.com"},
				DNS:     []string{"lyft.com", "www.lyft.com"},
			}},
		},
		{
			name: "two hops, case-insensitive keys, escaped quote",
			in:   `By=spiffe://a;hash=aa;SUBJECT="CN=x\"y,O=Z, Inc.";URI=spiffe://c1,By=spiffe://b;Hash=bb;Cert="-----BEGIN%20CERTIFICATE-----%0A"`,
			want: []XFCCElement{
				{By: []string{"spiffe://a"}, Hash: "aa", Subject: `CN=x"y,O=Z, Inc.`, URI: []string{"spiffe://c1"}},
				{By: []string{"spiffe://b"}, Hash: "bb", Cert: "-----BEGIN%20CERTIFICATE-----%0A"},
			},
		},
		{name: "empty", in: "", want: nil},
		{name: "unknown key kept out", in: "Foo=bar;Hash=cc", want: []XFCCElement{{Hash: "cc"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseXFCC(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseXFCCErrors(t *testing.T) {
	for _, in := range []string{
		`Hash`,
		`Subject="CN=unterminated`,
		`Subject="CN=a"junk;Hash=aa`,
		`Hash=aa;URI`,
	} {
		if got, err := ParseXFCC(in); err == nil {
			t.Errorf("ParseXFCC(%q) = %+v, want error", in, got)
		}
	}
}

func FuzzParseXFCC(f *testing.F) {
	f.Add(`By=http://frontend.lyft.com;Hash=468e;Subject="/C=US/CN=Test Client";URI=http://t;DNS=lyft.com`)
	f.Add(`Hash=aa,Hash=bb`)
	f.Add(`Subject="a\"b"`)
	f.Add(`;;,,`)
	f.Fuzz(func(t *testing.T, h string) {
		els, err := ParseXFCC(h)
		if err == nil && len(els) > len(h) {
			t.Fatalf("%d elements from %d bytes", len(els), len(h))
		}
	})
}
