package rediscache

// Shared is the whole shared tier of one replica: the connection, the
// entry store and the generations.
type Shared struct {
	Client      *Client
	Store       *Store
	Generations *Generations
}

// Connect opens the shared tier and starts watching the connection. It
// does not wait for Redis: when Redis does not answer, the replica starts
// on memory alone and turns to Redis as soon as it does.
func Connect(cfg Config) (*Shared, error) {
	c, err := Open(cfg)
	if err != nil {
		return nil, err
	}
	s := &Shared{Client: c, Store: NewStore(c), Generations: NewGenerations(c)}
	c.Start()
	return s, nil
}

// Close stops the shared tier's background work and closes its connections.
func (s *Shared) Close() {
	s.Generations.Close()
	s.Client.Close()
}
