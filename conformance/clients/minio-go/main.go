// The minio-go v7 suite: what `mc` does, through the libraries inside `mc` (Debian's
// golang-github-minio-minio-go-v7-dev and, for `mc admin`, golang-github-minio-madmin-go-dev;
// built in GOPATH mode: no module downloads). Over plain HTTP
// minio-go signs PUT bodies as streaming aws-chunked payloads, exactly like `mc`.
//
// Each feature prints one JSON line {"client","feature","ok","detail"} for the matrix runner.
package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/encrypt"
	"github.com/minio/minio-go/v7/pkg/lifecycle"
	"github.com/minio/minio-go/v7/pkg/sse"
	"github.com/minio/minio-go/v7/pkg/policy"
	"github.com/minio/minio-go/v7/pkg/tags"
)

var (
	ctx    = context.Background()
	client *minio.Client
	bucket = fmt.Sprintf("minio-go-%d", time.Now().UnixNano()%1_000_000_000)
	failed = 0
)

func report(feature string, err error) {
	detail := ""
	if err != nil {
		failed++
		detail = err.Error()
		if len(detail) > 500 {
			detail = detail[:500]
		}
		fmt.Fprintf(os.Stderr, "minio-go: %s: %v\n", feature, err)
	}
	line, _ := json.Marshal(map[string]interface{}{"client": "minio-go", "feature": feature, "ok": err == nil, "detail": detail})
	fmt.Println(string(line))
}

func feature(name string, fn func() error) {
	defer func() {
		if r := recover(); r != nil {
			report(name, fmt.Errorf("panic: %v", r))
		}
	}()
	report(name, fn())
}

func random(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

func md5hex(b []byte) string {
	h := md5.Sum(b)
	return hex.EncodeToString(h[:])
}

func get(key string, opts minio.GetObjectOptions) ([]byte, error) {
	obj, err := client.GetObject(ctx, bucket, key, opts)
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	return io.ReadAll(obj)
}

func put(key string, data []byte, opts minio.PutObjectOptions) (minio.UploadInfo, error) {
	return client.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), opts)
}

func list(prefix string, recursive bool) ([]minio.ObjectInfo, error) {
	var out []minio.ObjectInfo
	for o := range client.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: recursive}) {
		if o.Err != nil {
			return nil, o.Err
		}
		out = append(out, o)
	}
	return out, nil
}

func expectCode(err error, code string) error {
	if err == nil {
		return fmt.Errorf("expected %s, the call succeeded", code)
	}
	if got := minio.ToErrorResponse(err).Code; got != code {
		return fmt.Errorf("expected %s, got %q (%v)", code, got, err)
	}
	return nil
}

func main() {
	endpoint, err := url.Parse(os.Getenv("LAGOA_ENDPOINT"))
	if err != nil {
		panic(err)
	}
	client, err = minio.New(endpoint.Host, &minio.Options{
		Creds:  credentials.NewStaticV4(os.Getenv("LAGOA_ACCESS_KEY"), os.Getenv("LAGOA_SECRET_KEY"), ""),
		Secure: false,
	})
	if err != nil {
		panic(err)
	}
	client.SetAppInfo("lagoa-conformance", "1")

	feature("mc alias probe (HEAD 60-char bucket -> 404)", func() error {
		// `mc alias set` checks the credentials with a HEAD on a random bucket; 404 means "works".
		ok, err := client.BucketExists(ctx, strings.Repeat("p", 60))
		if err != nil || ok {
			return fmt.Errorf("exists=%v err=%v", ok, err)
		}
		return nil
	})

	feature("bucket create/head/list", func() error {
		if err := client.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
			return err
		}
		if err := expectCode(client.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}), "BucketAlreadyOwnedByYou"); err != nil {
			return err
		}
		buckets, err := client.ListBuckets(ctx)
		if err != nil {
			return err
		}
		for _, b := range buckets {
			if b.Name == bucket {
				return nil
			}
		}
		return fmt.Errorf("%s not in ListBuckets", bucket)
	})

	feature("GetBucketLocation", func() error {
		loc, err := client.GetBucketLocation(ctx, bucket)
		if err != nil || loc != "us-east-1" {
			return fmt.Errorf("location %q err %v", loc, err)
		}
		return nil
	})

	feature("put/get (streaming signed chunks)", func() error {
		data := random(300_000)
		info, err := put("dir/a b+c.bin", data, minio.PutObjectOptions{ContentType: "text/csv", UserMetadata: map[string]string{"team": "geo"}})
		if err != nil {
			return err
		}
		if info.ETag != md5hex(data) {
			return fmt.Errorf("etag %s, want %s", info.ETag, md5hex(data))
		}
		got, err := get("dir/a b+c.bin", minio.GetObjectOptions{})
		if err != nil || !bytes.Equal(got, data) {
			return fmt.Errorf("read back %d bytes, err %v", len(got), err)
		}
		return nil
	})

	feature("mc stat", func() error {
		st, err := client.StatObject(ctx, bucket, "dir/a b+c.bin", minio.StatObjectOptions{})
		if err != nil {
			return err
		}
		if st.Size != 300_000 || st.ContentType != "text/csv" || st.UserMetadata["Team"] != "geo" {
			return fmt.Errorf("stat %+v", st)
		}
		_, err = client.StatObject(ctx, bucket, "nope", minio.StatObjectOptions{})
		return expectCode(err, "NoSuchKey")
	})

	big := random(100 * 1024 * 1024)
	feature("mc cp 100 MiB (multipart)", func() error {
		info, err := put("big", big, minio.PutObjectOptions{PartSize: 16 * 1024 * 1024, NumThreads: 4})
		if err != nil {
			return err
		}
		if !strings.HasSuffix(info.ETag, "-7") {
			return fmt.Errorf("etag %s: expected a 7-part multipart ETag", info.ETag)
		}
		got, err := get("big", minio.GetObjectOptions{})
		if err != nil || !bytes.Equal(got, big) {
			return fmt.Errorf("read back %d bytes, err %v", len(got), err)
		}
		return nil
	})

	feature("mc pipe (unknown size, multipart)", func() error {
		data := big[:21*1024*1024]
		_, err := client.PutObject(ctx, bucket, "piped", io.MultiReader(bytes.NewReader(data)), -1, minio.PutObjectOptions{PartSize: 5 * 1024 * 1024})
		if err != nil {
			return err
		}
		got, err := get("piped", minio.GetObjectOptions{})
		if err != nil || !bytes.Equal(got, data) {
			return fmt.Errorf("read back %d bytes, err %v", len(got), err)
		}
		return nil
	})

	feature("mc cat (range get)", func() error {
		opts := minio.GetObjectOptions{}
		if err := opts.SetRange(1000, 1999); err != nil {
			return err
		}
		got, err := get("big", opts)
		if err != nil || !bytes.Equal(got, big[1000:2000]) {
			return fmt.Errorf("range read %d bytes, err %v", len(got), err)
		}
		obj, err := client.GetObject(ctx, bucket, "big", minio.GetObjectOptions{})
		if err != nil {
			return err
		}
		defer obj.Close()
		buf := make([]byte, 10)
		if _, err := obj.ReadAt(buf, 50_000_000); err != nil || !bytes.Equal(buf, big[50_000_000:50_000_010]) {
			return fmt.Errorf("ReadAt: %v", err)
		}
		return nil
	})

	tree := map[string][]byte{}
	for i := 0; i < 40; i++ {
		tree[fmt.Sprintf("src/part=%d/file-%02d.csv", i%4, i)] = random(1000 + i)
	}
	feature("mc mirror (list + put + compare)", func() error {
		// Upload a local tree concurrently, then mirror src/ -> dst/ the way mc does: list both
		// sides, copy what is missing or different (by size/ETag), then compare.
		var wg sync.WaitGroup
		errs := make(chan error, len(tree))
		for k, v := range tree {
			wg.Add(1)
			go func(k string, v []byte) {
				defer wg.Done()
				if _, err := put(k, v, minio.PutObjectOptions{}); err != nil {
					errs <- err
				}
			}(k, v)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			return err
		}
		for round := 0; round < 2; round++ {
			src, err := list("src/", true)
			if err != nil {
				return err
			}
			dst, err := list("dst/", true)
			if err != nil {
				return err
			}
			have := map[string]string{}
			for _, o := range dst {
				have[strings.TrimPrefix(o.Key, "dst/")] = o.ETag
			}
			copied := 0
			for _, o := range src {
				rel := strings.TrimPrefix(o.Key, "src/")
				if have[rel] == o.ETag {
					continue
				}
				_, err := client.CopyObject(ctx, minio.CopyDestOptions{Bucket: bucket, Object: "dst/" + rel}, minio.CopySrcOptions{Bucket: bucket, Object: o.Key})
				if err != nil {
					return err
				}
				copied++
			}
			if want := map[int]int{0: len(tree), 1: 0}[round]; copied != want {
				return fmt.Errorf("round %d copied %d, want %d", round, copied, want)
			}
		}
		for k, v := range tree {
			got, err := get("dst/"+strings.TrimPrefix(k, "src/"), minio.GetObjectOptions{})
			if err != nil || !bytes.Equal(got, v) {
				return fmt.Errorf("%s: %v", k, err)
			}
		}
		return nil
	})

	feature("mc ls -r / find / du", func() error {
		all, err := list("src/", true)
		if err != nil {
			return err
		}
		if len(all) != len(tree) {
			return fmt.Errorf("ls -r: %d objects, want %d", len(all), len(tree))
		}
		top, err := list("src/", false)
		if err != nil {
			return err
		}
		var prefixes []string
		for _, o := range top {
			prefixes = append(prefixes, o.Key)
		}
		sort.Strings(prefixes)
		if strings.Join(prefixes, ",") != "src/part=0/,src/part=1/,src/part=2/,src/part=3/" {
			return fmt.Errorf("ls: %v", prefixes)
		}
		found, size := 0, int64(0)
		for _, o := range all {
			if strings.HasSuffix(o.Key, "-07.csv") || strings.HasSuffix(o.Key, "-17.csv") { // mc find --name
				found++
			}
			size += o.Size // mc du
		}
		var want int64
		for _, v := range tree {
			want += int64(len(v))
		}
		if found != 2 || size != want {
			return fmt.Errorf("find %d, du %d want %d", found, size, want)
		}
		return nil
	})

	feature("tagging", func() error {
		t, err := tags.NewTags(map[string]string{"zone": "sp", "tier": "raw"}, true)
		if err != nil {
			return err
		}
		if err := client.PutObjectTagging(ctx, bucket, "big", t, minio.PutObjectTaggingOptions{}); err != nil {
			return err
		}
		got, err := client.GetObjectTagging(ctx, bucket, "big", minio.GetObjectTaggingOptions{})
		if err != nil || got.ToMap()["zone"] != "sp" || len(got.ToMap()) != 2 {
			return fmt.Errorf("tags %v err %v", got, err)
		}
		if err := client.RemoveObjectTagging(ctx, bucket, "big", minio.RemoveObjectTaggingOptions{}); err != nil {
			return err
		}
		got, err = client.GetObjectTagging(ctx, bucket, "big", minio.GetObjectTaggingOptions{})
		if err != nil || len(got.ToMap()) != 0 {
			return fmt.Errorf("after remove: %v err %v", got, err)
		}
		return nil
	})

	feature("mc share download (presigned GET)", func() error {
		u, err := client.PresignedGetObject(ctx, bucket, "dir/a b+c.bin", time.Hour, url.Values{"response-content-type": {"application/csv"}})
		if err != nil {
			return err
		}
		res, err := http.Get(u.String())
		if err != nil {
			return err
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || len(body) != 300_000 || res.Header.Get("Content-Type") != "application/csv" {
			return fmt.Errorf("status %d, %d bytes, type %q", res.StatusCode, len(body), res.Header.Get("Content-Type"))
		}
		return nil
	})

	feature("mc share upload (presigned POST policy)", func() error {
		policy := minio.NewPostPolicy()
		for _, err := range []error{
			policy.SetBucket(bucket),
			policy.SetKey("shared/upload.csv"),
			policy.SetExpires(time.Now().UTC().Add(time.Hour)),
			policy.SetContentType("text/csv"),
			policy.SetContentLengthRange(1, 1<<20),
		} {
			if err != nil {
				return err
			}
		}
		u, form, err := client.PresignedPostPolicy(ctx, policy)
		if err != nil {
			return err
		}
		data := []byte("zip,city\n01001,sao paulo\n")
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		for k, v := range form {
			_ = w.WriteField(k, v)
		}
		fw, _ := w.CreateFormFile("file", "upload.csv")
		_, _ = fw.Write(data)
		_ = w.Close()
		res, err := http.Post(u.String(), w.FormDataContentType(), &body)
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != 204 {
			return fmt.Errorf("POST status %d", res.StatusCode)
		}
		got, err := get("shared/upload.csv", minio.GetObjectOptions{})
		if err != nil || !bytes.Equal(got, data) {
			return fmt.Errorf("read back %q err %v", got, err)
		}
		return nil
	})

	feature("copy object", func() error {
		_, err := client.CopyObject(ctx,
			minio.CopyDestOptions{Bucket: bucket, Object: "copy", ReplaceMetadata: true, UserMetadata: map[string]string{"stage": "2"}},
			minio.CopySrcOptions{Bucket: bucket, Object: "dir/a b+c.bin"})
		if err != nil {
			return err
		}
		st, err := client.StatObject(ctx, bucket, "copy", minio.StatObjectOptions{})
		if err != nil || st.Size != 300_000 || st.UserMetadata["Stage"] != "2" {
			return fmt.Errorf("stat %+v err %v", st, err)
		}
		return nil
	})

	feature("compose object (UploadPartCopy)", func() error {
		srcs := []minio.CopySrcOptions{
			{Bucket: bucket, Object: "big", MatchRange: true, Start: 0, End: 5*1024*1024 - 1},
			{Bucket: bucket, Object: "dir/a b+c.bin"},
		}
		if _, err := client.ComposeObject(ctx, minio.CopyDestOptions{Bucket: bucket, Object: "composed"}, srcs...); err != nil {
			return err
		}
		got, err := get("composed", minio.GetObjectOptions{})
		if err != nil {
			return err
		}
		small, _ := get("dir/a b+c.bin", minio.GetObjectOptions{})
		if !bytes.Equal(got, append(append([]byte{}, big[:5*1024*1024]...), small...)) {
			return fmt.Errorf("composed object differs (%d bytes)", len(got))
		}
		return nil
	})

	feature("mc rm -r --force (list + DeleteObjects)", func() error {
		objects := make(chan minio.ObjectInfo)
		go func() {
			defer close(objects)
			for o := range client.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
				objects <- o
			}
		}()
		for e := range client.RemoveObjects(ctx, bucket, objects, minio.RemoveObjectsOptions{}) {
			return fmt.Errorf("remove %s: %v", e.ObjectName, e.Err)
		}
		left, err := list("", true)
		if err != nil || len(left) != 0 {
			return fmt.Errorf("%d objects left, err %v", len(left), err)
		}
		return nil
	})

	feature("S3 Select (SelectObjectContent, what mc sql calls)", func() error {
		// Orders as CSV; the expected rows are computed here with encoding/csv and strconv.
		var data bytes.Buffer
		w := csv.NewWriter(&data)
		states := []string{"SP", "RJ", "MG", "BA"}
		_ = w.Write([]string{"id", "state", "amount"})
		for i := 0; i < 400; i++ {
			amount := strconv.FormatFloat(float64((i*7919)%1000)/10, 'f', 1, 64)
			if i%29 == 0 {
				amount = "n/a"
			}
			_ = w.Write([]string{strconv.Itoa(i), states[i%4], amount})
		}
		w.Flush()
		var want strings.Builder
		rows, _ := csv.NewReader(bytes.NewReader(data.Bytes())).ReadAll()
		for _, r := range rows[1:] {
			if a, err := strconv.ParseFloat(r[2], 64); err == nil && r[1] == "RJ" && a > 25 {
				want.WriteString(r[0] + "," + r[2] + "\n")
			}
		}
		if _, err := put("select/orders.csv", data.Bytes(), minio.PutObjectOptions{}); err != nil {
			return err
		}
		opts := minio.SelectObjectOptions{
			Expression:     "SELECT s.id, s.amount FROM S3Object s WHERE s.state = 'RJ' AND s.amount > 25",
			ExpressionType: minio.QueryExpressionTypeSQL,
			InputSerialization: minio.SelectObjectInputSerialization{
				CompressionType: minio.SelectCompressionNONE,
				CSV:             &minio.CSVInputOptions{FileHeaderInfo: minio.CSVFileHeaderInfoUse, RecordDelimiter: "\n", FieldDelimiter: ","},
			},
			OutputSerialization: minio.SelectObjectOutputSerialization{
				CSV: &minio.CSVOutputOptions{RecordDelimiter: "\n", FieldDelimiter: ","},
			},
		}
		results, err := client.SelectObjectContent(ctx, bucket, "select/orders.csv", opts)
		if err != nil {
			return err
		}
		got, err := io.ReadAll(results)
		results.Close()
		if err != nil {
			return err
		}
		if string(got) != want.String() || want.Len() == 0 {
			return fmt.Errorf("select returned %d bytes, expected %d", len(got), want.Len())
		}
		if stats := results.Stats(); stats == nil || stats.BytesReturned != int64(len(got)) {
			return fmt.Errorf("stats %+v", stats)
		}
		opts.Expression = "SELECT nope FROM S3Object"
		if _, err := client.SelectObjectContent(ctx, bucket, "select/orders.csv", opts); err == nil {
			return fmt.Errorf("an unknown column was accepted")
		}
		return client.RemoveObject(ctx, bucket, "select/orders.csv", minio.RemoveObjectOptions{})
	})

	feature("mc version enable / ls --versions / undo / cp --version-id / version suspend", func() error {
		vb := bucket + "-ver"
		if err := client.MakeBucket(ctx, vb, minio.MakeBucketOptions{}); err != nil {
			return err
		}
		if err := client.EnableVersioning(ctx, vb); err != nil {
			return err
		}
		if cfg, err := client.GetBucketVersioning(ctx, vb); err != nil || cfg.Status != "Enabled" {
			return fmt.Errorf("versioning %+v err=%v", cfg, err)
		}
		if _, err := client.PutObject(ctx, vb, "a", strings.NewReader("a"), 1, minio.PutObjectOptions{}); err != nil {
			return err
		}
		var ids []string
		for _, body := range []string{"one", "two"} {
			info, err := client.PutObject(ctx, vb, "k", strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
			if err != nil {
				return err
			}
			ids = append(ids, info.VersionID)
		}
		if ids[0] == "" || ids[0] == ids[1] {
			return fmt.Errorf("version ids %q", ids)
		}
		if err := client.RemoveObject(ctx, vb, "k", minio.RemoveObjectOptions{}); err != nil {
			return err
		}
		// minio-go reads versions and markers in document order: S3's interleaved order (a's
		// version comes before k's marker).
		var listed []minio.ObjectInfo
		for o := range client.ListObjects(ctx, vb, minio.ListObjectsOptions{WithVersions: true, Recursive: true}) {
			if o.Err != nil {
				return o.Err
			}
			listed = append(listed, o)
		}
		if len(listed) != 4 || listed[0].Key != "a" || listed[0].IsDeleteMarker {
			return fmt.Errorf("versions listed %+v", listed)
		}
		listed = listed[1:]
		if len(listed) != 3 || !listed[0].IsDeleteMarker || !listed[0].IsLatest ||
			listed[1].VersionID != ids[1] || listed[2].VersionID != ids[0] || listed[1].IsLatest {
			return fmt.Errorf("versions listed %+v", listed)
		}
		// `mc undo`: remove the newest version (the marker); the last PUT is back.
		if err := client.RemoveObject(ctx, vb, "k", minio.RemoveObjectOptions{VersionID: listed[0].VersionID}); err != nil {
			return err
		}
		st, err := client.StatObject(ctx, vb, "k", minio.StatObjectOptions{})
		if err != nil || st.VersionID != ids[1] {
			return fmt.Errorf("after undo: %+v err=%v", st, err)
		}
		old, err := client.GetObject(ctx, vb, "k", minio.GetObjectOptions{VersionID: ids[0]})
		if err != nil {
			return err
		}
		oldBody, err := io.ReadAll(old)
		if err != nil || string(oldBody) != "one" {
			return fmt.Errorf("version %s: %q err=%v", ids[0], oldBody, err)
		}
		if err := client.SuspendVersioning(ctx, vb); err != nil {
			return err
		}
		if cfg, err := client.GetBucketVersioning(ctx, vb); err != nil || cfg.Status != "Suspended" {
			return fmt.Errorf("versioning %+v err=%v", cfg, err)
		}
		info, err := client.PutObject(ctx, vb, "k", strings.NewReader("three"), 5, minio.PutObjectOptions{})
		if err != nil || info.VersionID != "" {
			return fmt.Errorf("suspended put: %+v err=%v", info, err)
		}
		// `mc rm --versions --recursive --force`, then the bucket goes.
		for o := range client.ListObjects(ctx, vb, minio.ListObjectsOptions{WithVersions: true, Recursive: true}) {
			if o.Err != nil {
				return o.Err
			}
			if err := client.RemoveObject(ctx, vb, o.Key, minio.RemoveObjectOptions{VersionID: o.VersionID}); err != nil {
				return err
			}
		}
		return client.RemoveBucket(ctx, vb)
	})

	feature("mc mb --with-lock / mc retention set / mc legalhold set", func() error {
		lb := bucket + "-lock"
		if err := client.MakeBucket(ctx, lb, minio.MakeBucketOptions{ObjectLocking: true}); err != nil {
			return err
		}
		mode, validity, unit := minio.Governance, uint(1), minio.Days
		if err := client.SetObjectLockConfig(ctx, lb, &mode, &validity, &unit); err != nil {
			return err
		}
		enabled, gotMode, gotValidity, gotUnit, err := client.GetObjectLockConfig(ctx, lb)
		if err != nil || enabled != "Enabled" || *gotMode != minio.Governance || *gotValidity != 1 || *gotUnit != minio.Days {
			return fmt.Errorf("lock config %v %v %v %v err=%v", enabled, gotMode, gotValidity, gotUnit, err)
		}
		info, err := client.PutObject(ctx, lb, "k", strings.NewReader("worm"), 4, minio.PutObjectOptions{})
		if err != nil {
			return err
		}
		m, until, err := client.GetObjectRetention(ctx, lb, "k", info.VersionID)
		if err != nil || *m != minio.Governance || time.Until(*until) < 23*time.Hour {
			return fmt.Errorf("default retention %v %v err=%v", m, until, err)
		}
		// `mc retention set --bypass GOVERNANCE 1m`: shortening needs the bypass.
		short := time.Now().Add(time.Minute)
		err = client.PutObjectRetention(ctx, lb, "k", minio.PutObjectRetentionOptions{Mode: &mode, RetainUntilDate: &short, VersionID: info.VersionID})
		if err := expectCode(err, "AccessDenied"); err != nil {
			return err
		}
		if err := client.PutObjectRetention(ctx, lb, "k", minio.PutObjectRetentionOptions{Mode: &mode, RetainUntilDate: &short, VersionID: info.VersionID, GovernanceBypass: true}); err != nil {
			return err
		}
		on, off := minio.LegalHoldEnabled, minio.LegalHoldDisabled
		if err := client.PutObjectLegalHold(ctx, lb, "k", minio.PutObjectLegalHoldOptions{VersionID: info.VersionID, Status: &on}); err != nil {
			return err
		}
		if st, err := client.GetObjectLegalHold(ctx, lb, "k", minio.GetObjectLegalHoldOptions{VersionID: info.VersionID}); err != nil || *st != on {
			return fmt.Errorf("legal hold %v err=%v", st, err)
		}
		err = client.RemoveObject(ctx, lb, "k", minio.RemoveObjectOptions{VersionID: info.VersionID, GovernanceBypass: true})
		if err := expectCode(err, "AccessDenied"); err != nil {
			return err
		}
		if err := client.PutObjectLegalHold(ctx, lb, "k", minio.PutObjectLegalHoldOptions{VersionID: info.VersionID, Status: &off}); err != nil {
			return err
		}
		if err := client.RemoveObject(ctx, lb, "k", minio.RemoveObjectOptions{VersionID: info.VersionID, GovernanceBypass: true}); err != nil {
			return err
		}
		return client.RemoveBucket(ctx, lb)
	})

	feature("mc ilm rule add / ls / rm (lifecycle)", func() error {
		cfg := lifecycle.NewConfiguration()
		cfg.Rules = []lifecycle.Rule{
			{
				ID:         "expire-tmp",
				Status:     "Enabled",
				RuleFilter: lifecycle.Filter{Prefix: "tmp/"},
				Expiration: lifecycle.Expiration{Days: 7},
			},
			{
				ID:                             "old-versions",
				Status:                         "Enabled",
				NoncurrentVersionExpiration:    lifecycle.NoncurrentVersionExpiration{NoncurrentDays: 30},
				AbortIncompleteMultipartUpload: lifecycle.AbortIncompleteMultipartUpload{DaysAfterInitiation: 2},
			},
		}
		if err := client.SetBucketLifecycle(ctx, bucket, cfg); err != nil {
			return err
		}
		got, err := client.GetBucketLifecycle(ctx, bucket)
		if err != nil {
			return err
		}
		if len(got.Rules) != 2 || got.Rules[0].ID != "expire-tmp" || got.Rules[0].Expiration.Days != 7 ||
			got.Rules[0].RuleFilter.Prefix != "tmp/" || got.Rules[1].NoncurrentVersionExpiration.NoncurrentDays != 30 ||
			got.Rules[1].AbortIncompleteMultipartUpload.DaysAfterInitiation != 2 {
			return fmt.Errorf("lifecycle read back %+v", got.Rules)
		}
		// An object a rule matches says when it expires.
		if _, err := put("tmp/x", []byte("x"), minio.PutObjectOptions{}); err != nil {
			return err
		}
		st, err := client.StatObject(ctx, bucket, "tmp/x", minio.StatObjectOptions{})
		if err != nil || st.Expiration.IsZero() || st.ExpirationRuleID != "expire-tmp" {
			return fmt.Errorf("stat expiration %v %q err=%v", st.Expiration, st.ExpirationRuleID, err)
		}
		if err := client.RemoveObject(ctx, bucket, "tmp/x", minio.RemoveObjectOptions{}); err != nil {
			return err
		}
		// `mc ilm rule rm --all`: an empty configuration deletes it.
		if err := client.SetBucketLifecycle(ctx, bucket, lifecycle.NewConfiguration()); err != nil {
			return err
		}
		_, err = client.GetBucketLifecycle(ctx, bucket)
		return expectCode(err, "NoSuchLifecycleConfiguration")
	})

	feature("mc anonymous set download / get / set none (bucket policy)", func() error {
		if _, err := put("pub/a.txt", []byte("public"), minio.PutObjectOptions{}); err != nil {
			return err
		}
		// What `mc anonymous set download ALIAS/bucket/pub` sends: statements built by
		// minio-go's pkg/policy, then SetBucketPolicy.
		statements := policy.SetPolicy(nil, policy.BucketPolicyReadOnly, bucket, "pub")
		doc, err := json.Marshal(policy.BucketAccessPolicy{Version: "2012-10-17", Statements: statements})
		if err != nil {
			return err
		}
		if err := client.SetBucketPolicy(ctx, bucket, string(doc)); err != nil {
			return err
		}
		// `mc anonymous get`: read back and classified.
		text, err := client.GetBucketPolicy(ctx, bucket)
		if err != nil {
			return err
		}
		var stored policy.BucketAccessPolicy
		if err := json.Unmarshal([]byte(text), &stored); err != nil {
			return fmt.Errorf("stored policy %q: %v", text, err)
		}
		if got := policy.GetPolicy(stored.Statements, bucket, "pub"); got != policy.BucketPolicyReadOnly {
			return fmt.Errorf("mc anonymous get would say %q", got)
		}
		anonymous, err := minio.New(client.EndpointURL().Host, &minio.Options{Creds: credentials.NewStaticV4("", "", ""), Secure: false})
		if err != nil {
			return err
		}
		obj, err := anonymous.GetObject(ctx, bucket, "pub/a.txt", minio.GetObjectOptions{})
		if err != nil {
			return err
		}
		body, err := io.ReadAll(obj)
		if err != nil || string(body) != "public" {
			return fmt.Errorf("anonymous download %q %v", body, err)
		}
		_, err = anonymous.PutObject(ctx, bucket, "pub/b.txt", bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{})
		if err := expectCode(err, "AccessDenied"); err != nil {
			return err
		}
		// `mc anonymous set none`: an empty policy removes it.
		if err := client.SetBucketPolicy(ctx, bucket, ""); err != nil {
			return err
		}
		if _, err := anonymous.StatObject(ctx, bucket, "pub/a.txt", minio.StatObjectOptions{}); err == nil {
			return fmt.Errorf("anonymous read after set none")
		}
		return client.RemoveObject(ctx, bucket, "pub/a.txt", minio.RemoveObjectOptions{})
	})

	feature("mc encrypt set sse-s3 / info / clear; SSE-KMS and SSE-C objects", func() error {
		// What `mc encrypt set sse-s3 ALIAS/bucket` sends, then `mc encrypt info`.
		if err := client.SetBucketEncryption(ctx, bucket, sse.NewConfigurationSSES3()); err != nil {
			return err
		}
		cfg, err := client.GetBucketEncryption(ctx, bucket)
		if err != nil {
			return err
		}
		if len(cfg.Rules) != 1 || cfg.Rules[0].Apply.SSEAlgorithm != "AES256" {
			return fmt.Errorf("mc encrypt info would show %+v", cfg.Rules)
		}
		check := func(key string, want string, get minio.GetObjectOptions, stat minio.StatObjectOptions) error {
			info, err := client.StatObject(ctx, bucket, key, stat)
			if err != nil {
				return err
			}
			if got := info.Metadata.Get("X-Amz-Server-Side-Encryption"); got != want {
				return fmt.Errorf("%s: x-amz-server-side-encryption %q, want %q", key, got, want)
			}
			obj, err := client.GetObject(ctx, bucket, key, get)
			if err != nil {
				return err
			}
			body, err := io.ReadAll(obj)
			if err != nil || string(body) != "sealed "+key {
				return fmt.Errorf("%s read back %q %v", key, body, err)
			}
			return nil
		}
		if _, err := put("enc/default", []byte("sealed enc/default"), minio.PutObjectOptions{}); err != nil {
			return err
		}
		if err := check("enc/default", "AES256", minio.GetObjectOptions{}, minio.StatObjectOptions{}); err != nil {
			return err
		}
		kms, err := encrypt.NewSSEKMS("lagoa-test-key", nil)
		if err != nil {
			return err
		}
		if _, err := put("enc/kms", []byte("sealed enc/kms"), minio.PutObjectOptions{ServerSideEncryption: kms}); err != nil {
			return err
		}
		if err := check("enc/kms", "aws:kms", minio.GetObjectOptions{}, minio.StatObjectOptions{}); err != nil {
			return err
		}
		ssec, err := encrypt.NewSSEC(bytes.Repeat([]byte{0x5a}, 32))
		if err != nil {
			return err
		}
		if _, err := put("enc/ssec", []byte("sealed enc/ssec"), minio.PutObjectOptions{ServerSideEncryption: ssec}); err != nil {
			return err
		}
		if err := check("enc/ssec", "", minio.GetObjectOptions{ServerSideEncryption: ssec}, minio.StatObjectOptions{ServerSideEncryption: ssec}); err != nil {
			return err
		}
		if _, err := client.StatObject(ctx, bucket, "enc/ssec", minio.StatObjectOptions{}); err == nil {
			return fmt.Errorf("an SSE-C object was readable without its key")
		}
		// `mc encrypt clear`.
		if err := client.RemoveBucketEncryption(ctx, bucket); err != nil {
			return err
		}
		_, err = client.GetBucketEncryption(ctx, bucket)
		if err := expectCode(err, "ServerSideEncryptionConfigurationNotFoundError"); err != nil {
			return err
		}
		for _, k := range []string{"enc/default", "enc/kms", "enc/ssec"} {
			if err := client.RemoveObject(ctx, bucket, k, minio.RemoveObjectOptions{}); err != nil {
				return err
			}
		}
		return nil
	})

	feature("errors: NoSuchKey/NoSuchBucket/BucketNotEmpty", func() error {
		_, err := client.StatObject(ctx, "no-such-bucket-lagoa", "k", minio.StatObjectOptions{})
		if err := expectCode(err, "NoSuchBucket"); err != nil {
			return err
		}
		if _, err := put("keep", []byte("x"), minio.PutObjectOptions{}); err != nil {
			return err
		}
		if err := expectCode(client.RemoveBucket(ctx, bucket), "BucketNotEmpty"); err != nil {
			return err
		}
		return client.RemoveObject(ctx, bucket, "keep", minio.RemoveObjectOptions{})
	})

	adminFeatures(endpoint.Host)

	feature("bucket cleanup + delete", func() error {
		if err := client.RemoveBucket(ctx, bucket); err != nil {
			return err
		}
		ok, err := client.BucketExists(ctx, bucket)
		if err != nil || ok {
			return fmt.Errorf("still exists=%v err=%v", ok, err)
		}
		return nil
	})
	if failed > 0 {
		os.Exit(1)
	}
}
