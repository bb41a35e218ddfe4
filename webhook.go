package ragd

// Webhook is an endpoint that receives a workspace's events.
type Webhook struct {
	ID        string   `json:"id"`
	Workspace string   `json:"-"`
	URL       string   `json:"url"`
	Events    []string `json:"events"`
	Created   int64    `json:"created"`
	// Secret signs deliveries; it is shown only when the webhook is
	// created.
	Secret string `json:"secret,omitempty"`
}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// Delivery is one event sent (or to be sent) to one webhook.
type Delivery struct {
	ID        string `json:"id"`
	WebhookID string `json:"webhook_id"`
	EventID   string `json:"event_id"`
	Type      string `json:"type"`
	State     string `json:"state"`
	Attempts  int    `json:"attempts"`
	// NextAttempt is when a pending delivery is tried next, in unix
	// milliseconds.
	NextAttempt int64  `json:"-"`
	LastStatus  int    `json:"last_status"`
	LastError   string `json:"last_error"`
	Created     int64  `json:"created"`
	Updated     int64  `json:"updated"`

	// Payload is the event's JSON body.
	Payload []byte `json:"-"`
	// URL and Secret are the webhook's, set by DueDeliveries.
	URL    string `json:"-"`
	Secret string `json:"-"`
}
