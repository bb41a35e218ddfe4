package service

import (
	"context"

	"github.com/ragd/ragd"
)

// CreateKey creates API key k (of workspace "default" when k names none)
// with a new secret, returned in k.Secret (the only time it is shown),
// creating its workspace if needed.
func (s *Service) CreateKey(ctx context.Context, k *ragd.Key) error {
	if k.Workspace == "" {
		k.Workspace = ragd.DefaultWorkspace
	}
	if err := k.Validate(); err != nil {
		return err
	}
	k.ID, k.Created, k.Secret = ragd.NewID("key"), s.now().Unix(), ragd.NewKeySecret()
	return s.write.CreateKey(ctx, k, ragd.HashSecret(k.Secret))
}

// RevokeKey revokes key id now; an unknown or revoked id is ENOTFOUND.
func (s *Service) RevokeKey(ctx context.Context, id string) error {
	return s.write.RevokeKey(ctx, id, s.now().Unix())
}

// Keys returns a page of the live keys of every workspace.
func (s *Service) Keys(ctx context.Context, p ragd.Page) ([]*ragd.Key, bool, error) {
	return s.store.Keys(ctx, p)
}

// KeyBySecret returns the live key whose secret is secret, or ENOTFOUND.
func (s *Service) KeyBySecret(ctx context.Context, secret string) (*ragd.Key, error) {
	return s.store.KeyBySecret(ctx, secret)
}

// Workspace returns workspace name, or ENOTFOUND.
func (s *Service) Workspace(ctx context.Context, name string) (*ragd.Workspace, error) {
	return s.store.Workspace(ctx, name)
}
