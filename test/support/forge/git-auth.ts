/**
 * Credentials for git over HTTP, passed through the environment (GIT_CONFIG_COUNT, git >= 2.31):
 * they never appear in a remote URL, in .git/config, or in the argument list other processes see.
 */
import { authorizationHeader } from './api.js';

/**
 * Environment variables that make git send `username:token` as basic auth to `forgeUrl` only
 * (`http.<url>.extraHeader`), and fail instead of prompting when that is not enough.
 */
export function gitAuthEnv(forgeUrl: string, username: string, token: string): Record<string, string> {
  const scope = forgeUrl.endsWith('/') ? forgeUrl : `${forgeUrl}/`;
  return {
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: `http.${scope}.extraHeader`,
    GIT_CONFIG_VALUE_0: `Authorization: ${authorizationHeader({ username, password: token })}`,
    GIT_TERMINAL_PROMPT: '0',
  };
}
