// `mc admin user …`, `mc admin policy …` and `mc admin info` through madmin-go, the admin
// library inside `mc` (Debian's golang-github-minio-madmin-go-dev 2.0.7, GOPATH mode).
package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/minio/madmin-go"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

func expectAdminCode(err error, code string) error {
	if err == nil {
		return fmt.Errorf("expected %s, the call succeeded", code)
	}
	if got := madmin.ToErrorResponse(err).Code; got != code {
		return fmt.Errorf("expected %s, got %q (%v)", code, got, err)
	}
	return nil
}

// A minio-go client signing as another user.
func clientAs(host, accessKey, secretKey string) *minio.Client {
	c, err := minio.New(host, &minio.Options{Creds: credentials.NewStaticV4(accessKey, secretKey, ""), Secure: false})
	if err != nil {
		panic(err)
	}
	return c
}

func adminFeatures(host string) {
	adm, err := madmin.New(host, os.Getenv("LAGOA_ACCESS_KEY"), os.Getenv("LAGOA_SECRET_KEY"), false)
	if err != nil {
		panic(err)
	}
	adm.SetAppInfo("lagoa-conformance", "1")
	user := fmt.Sprintf("mc-user-%s", bucket)
	data := []byte("admin-managed")

	feature("mc admin user add / info / ls / disable / enable / rotate / rm", func() error {
		if err := client.MakeBucket(ctx, bucket+"-adm", minio.MakeBucketOptions{}); err != nil {
			return err
		}
		if _, err := client.PutObject(ctx, bucket+"-adm", "k", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			return err
		}
		if err := adm.AddUser(ctx, user, "first-secret-1"); err != nil {
			return err
		}
		users, err := adm.ListUsers(ctx)
		if err != nil {
			return err
		}
		if users[user].Status != madmin.AccountEnabled {
			return fmt.Errorf("list-users: %+v", users[user])
		}
		if err := adm.SetPolicy(ctx, "readonly", user, false); err != nil {
			return err
		}
		info, err := adm.GetUserInfo(ctx, user)
		if err != nil || info.PolicyName != "readonly" {
			return fmt.Errorf("user-info %+v %v", info, err)
		}
		as := clientAs(host, user, "first-secret-1")
		if _, err := as.StatObject(ctx, bucket+"-adm", "k", minio.StatObjectOptions{}); err != nil {
			return fmt.Errorf("readonly user cannot read: %v", err)
		}
		if _, err := as.PutObject(ctx, bucket+"-adm", "w", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); expectCode(err, "AccessDenied") != nil {
			return fmt.Errorf("readonly user wrote: %v", err)
		}
		if err := adm.SetUserStatus(ctx, user, madmin.AccountDisabled); err != nil {
			return err
		}
		if _, err := as.StatObject(ctx, bucket+"-adm", "k", minio.StatObjectOptions{}); err == nil {
			return fmt.Errorf("a disabled user could still read")
		}
		if err := adm.SetUserStatus(ctx, user, madmin.AccountEnabled); err != nil {
			return err
		}
		// `mc admin user add` on an existing user rotates its secret key.
		if err := adm.AddUser(ctx, user, "second-secret-2"); err != nil {
			return err
		}
		if _, err := as.StatObject(ctx, bucket+"-adm", "k", minio.StatObjectOptions{}); err == nil {
			return fmt.Errorf("the old secret key still works")
		}
		if _, err := clientAs(host, user, "second-secret-2").StatObject(ctx, bucket+"-adm", "k", minio.StatObjectOptions{}); err != nil {
			return fmt.Errorf("the new secret key does not work: %v", err)
		}
		if err := adm.RemoveUser(ctx, user); err != nil {
			return err
		}
		_, err = adm.GetUserInfo(ctx, user)
		return expectAdminCode(err, "XMinioAdminNoSuchUser")
	})

	feature("mc admin policy create / attach / detach / info / ls / rm", func() error {
		name := "put-only-" + bucket
		doc := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject"],"Resource":["arn:aws:s3:::%s-adm/drop/*"]}]}`, bucket)
		if err := adm.AddCannedPolicy(ctx, name, []byte(doc)); err != nil {
			return err
		}
		if err := expectAdminCode(adm.AddCannedPolicy(ctx, "bad-"+bucket, []byte(`{"Statement":[{"Effect":"Maybe"}]}`)), "MalformedPolicy"); err != nil {
			return err
		}
		if err := adm.AddUser(ctx, user, "third-secret-3"); err != nil {
			return err
		}
		if err := adm.AttachPolicy(ctx, madmin.PolicyAssociationReq{Policies: []string{name}, User: user}); err != nil {
			return err
		}
		if err := expectAdminCode(adm.AttachPolicy(ctx, madmin.PolicyAssociationReq{Policies: []string{name}, User: user}), "XMinioAdminPolicyChangeAlreadyApplied"); err != nil {
			return err
		}
		as := clientAs(host, user, "third-secret-3")
		if _, err := as.PutObject(ctx, bucket+"-adm", "drop/x", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			return fmt.Errorf("attached policy does not allow the PUT: %v", err)
		}
		if _, err := as.StatObject(ctx, bucket+"-adm", "drop/x", minio.StatObjectOptions{}); expectCode(err, "AccessDenied") != nil {
			return fmt.Errorf("a put-only user could read: %v", err)
		}
		p, err := adm.InfoCannedPolicyV2(ctx, name)
		if err != nil || p.PolicyName != name || !strings.Contains(string(p.Policy), "drop/*") {
			return fmt.Errorf("info-canned-policy %+v %v", p, err)
		}
		all, err := adm.ListCannedPolicies(ctx)
		if _, ok := all["consoleAdmin"]; err != nil || !ok || all[name] == nil {
			return fmt.Errorf("list-canned-policies lacks %s or consoleAdmin (%v)", name, err)
		}
		if err := expectAdminCode(adm.RemoveCannedPolicy(ctx, name), "XMinioAdminPolicyInUse"); err != nil {
			return err
		}
		if err := adm.DetachPolicy(ctx, madmin.PolicyAssociationReq{Policies: []string{name}, User: user}); err != nil {
			return err
		}
		if _, err := as.PutObject(ctx, bucket+"-adm", "drop/y", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); expectCode(err, "AccessDenied") != nil {
			return fmt.Errorf("a detached policy still allows the PUT: %v", err)
		}
		// A non-admin user is refused the admin API.
		userAdm, err := madmin.New(host, user, "third-secret-3", false)
		if err != nil {
			return err
		}
		if _, err := userAdm.ListUsers(ctx); expectAdminCode(err, "AccessDenied") != nil {
			return fmt.Errorf("a user without admin:* listed users: %v", err)
		}
		if err := adm.RemoveUser(ctx, user); err != nil {
			return err
		}
		if err := adm.RemoveCannedPolicy(ctx, name); err != nil {
			return err
		}
		for _, k := range []string{"k", "drop/x"} {
			if err := client.RemoveObject(ctx, bucket+"-adm", k, minio.RemoveObjectOptions{}); err != nil {
				return err
			}
		}
		return client.RemoveBucket(ctx, bucket+"-adm")
	})

	feature("mc admin info", func() error {
		info, err := adm.ServerInfo(ctx)
		if err != nil {
			return err
		}
		if info.Mode != "online" || len(info.Servers) != 1 || info.Servers[0].State != "online" || len(info.Servers[0].Disks) != 1 {
			return fmt.Errorf("unexpected info %+v", info)
		}
		if info.Servers[0].Disks[0].TotalSpace == 0 {
			return fmt.Errorf("no drive size")
		}
		return nil
	})
}
