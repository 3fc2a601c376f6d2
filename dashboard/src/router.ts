import { createRouter, createWebHistory, type RouteLocationRaw } from 'vue-router'
import { role, roleAllows, signedIn, type Role } from './stores/auth.ts'

// Each view is its own chunk, so a driver's phone loads the availability page without the operators'
// charts. Views that need a role send a signed-out viewer to the login page and back afterwards.

declare module 'vue-router' {
  interface RouteMeta {
    /** Role needed to open the view; none means public. */
    role?: Role
  }
}

export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/', redirect: () => (signedIn.value ? '/live' : '/availability') },
    {
      path: '/live',
      name: 'live',
      component: () => import('./views/LiveView.vue'),
      meta: { role: 'operator' },
    },
    { path: '/availability', name: 'availability', component: () => import('./views/AvailabilityView.vue') },
    {
      path: '/analytics',
      name: 'analytics',
      component: () => import('./views/AnalyticsView.vue'),
      meta: { role: 'operator' },
    },
    {
      path: '/sessions',
      name: 'sessions',
      component: () => import('./views/SessionsView.vue'),
      meta: { role: 'engineer' },
    },
    {
      path: '/replay',
      name: 'replay',
      component: () => import('./views/ReplayView.vue'),
      meta: { role: 'engineer' },
    },
    { path: '/login', name: 'login', component: () => import('./views/LoginView.vue') },
    { path: '/:unknown(.*)*', redirect: '/' },
  ],
})

/** Where a viewer without the role for `to` goes instead, or true to let them through. */
export function gate(needed: Role | undefined, fullPath: string): true | RouteLocationRaw {
  if (needed === undefined || roleAllows(role.value, needed)) return true
  return { name: 'login', query: { next: fullPath, ...(signedIn.value ? { denied: '1' } : {}) } }
}

router.beforeEach((to) => gate(to.meta.role, to.fullPath))
