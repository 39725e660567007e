// TLS on the public endpoint, the same on every target: the Beanstalk environment's HTTPS listener,
// the ECS load balancer's and the EKS ingress's (AWS Load Balancer Controller annotation) use it.

/**
 * TLS 1.3 with TLS 1.2 fallback: the policy AWS recommends for new Application Load Balancer HTTPS
 * listeners (Elastic Load Balancing User Guide, "Security policies for your Application Load
 * Balancer": ELBSecurityPolicy-TLS13-1-2-2021-06 is the default and recommended policy).
 */
export const SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";
